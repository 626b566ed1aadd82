"""The route breakers' metrics follow the breakers themselves (this process's own registry).

`plugit_breakers_open` must equal the breakers not closed, whatever happens to them: a
breaker forgotten while open (the oldest, when random routes fill the table) is taken off.
"""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from plugit_proxy import metrics
from plugit_proxy.breaker import Breakers, State
from plugit_proxy.requestcontext import CURRENT, RequestRecord


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def value(name: str, **labels: str) -> float:
    """One sample of this process's exposition (0 when absent)."""
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_the_open_gauge_counts_the_breakers_actually_open() -> None:
    instance = f"http://{uuid.uuid4().hex}/"  # labels of this test's own
    labels = {"project": "p", "instance": instance}
    clock = Clock()
    breakers = Breakers(failures=1, cooldown=5, clock=clock, max_routes=2)
    token = CURRENT.set(RequestRecord("id", project="p"))  # breakers are made while serving
    try:
        opened = []
        for route in ("action/a", "action/b"):
            breaker = breakers.route(instance, route, create=True)
            assert breaker is not None
            before = breaker.state
            breaker.done(State.CLOSED, alive=False)  # what the upstream client reports:
            metrics.breaker_changed("p", instance, before.value, breaker.state.value)
            opened.append(breaker)
        assert value("plugit_breakers_open", **labels) == 2

        clock.now += 5  # cooled down: the next call is a trial
        assert opened[1].admit() is State.HALF_OPEN
        half_open = {**labels, "state": "half-open"}
        assert value("plugit_breaker_transitions_total", **half_open) == 1
        assert value("plugit_breakers_open", **labels) == 2  # half-open is not closed

        breakers.route(instance, "action/c", create=True)  # the oldest, still open, goes
        assert breakers.route(instance, "action/a") is None
        assert value("plugit_breakers_open", **labels) == 1
        breakers.route(instance, "action/d", create=True)  # then the half-open one
        assert value("plugit_breakers_open", **labels) == 0
    finally:
        CURRENT.reset(token)
