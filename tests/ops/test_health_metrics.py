"""Health and breaker metrics after known events: an instance killed and brought back, a route
that hangs until its circuit opens, then answers again.

A platform of one worker (`plugit platform serve`): its numbers are exact, since route
breakers and the verdicts counted are each process's own. The multi-worker view of the state
is checked on the two-worker platform of conftest.py.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from plugit_platform_launch import Platform, apply, serving

from .conftest import METRICS_TOKEN, ops_platform_env
from .ops_kit import UNSTUCK, sample, scrape, wait_for

AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
INSTANCE_SCRIPT = str(Path(__file__).parent.parent / "proxy" / "health_processes.py")
STATES = ("new", "up", "ejected", "refused")


def projects_file(flaky: str, slow: str) -> str:
    return f"""
[[projects]]
slug = "flaky"
name = "Flaky"
services = ["{flaky}"]
orga_mode = false

[[projects]]
slug = "slowpoke"
name = "Slowpoke"
services = ["{slow}"]
orga_mode = false
"""


class KillableInstance:
    """A service instance in its own process, on a fixed port: killed, then started again."""

    def __init__(self, port: int, runner: Any) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        self.port, self.runner = port, runner
        self._stack = contextlib.ExitStack()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        argv = [sys.executable, INSTANCE_SCRIPT, "service", str(self.port), "flaky"]
        self.process = self._stack.enter_context(
            self.runner(argv, cwd=Path.cwd(), url=self.url + "ping")
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # no goodbye: the port simply stops answering
        self.process.wait()

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def flaky(free_port: Callable[[], int], server_process: Any) -> Iterator[KillableInstance]:
    instance = KillableInstance(free_port(), server_process)
    instance.start()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def health_platform(
    tmp_path_factory: pytest.TempPathFactory, flaky: KillableInstance, service_url: str
) -> Iterator[Platform]:
    """One worker; quick probes and ejections; a 1 s deadline and quick route breakers."""
    workdir = tmp_path_factory.mktemp("health-platform")
    env = ops_platform_env(
        workdir,
        PLUGIT_METRICS_TOKEN=METRICS_TOKEN,
        PLUGIT_HEALTH_INTERVAL="0.3",
        PLUGIT_HEALTH_TIMEOUT="1",
        PLUGIT_EJECT_AFTER="2",
        PLUGIT_EJECT_BACKOFF="0.5",
        PLUGIT_EJECT_MAX_BACKOFF="1",
        PLUGIT_UPSTREAM_TIMEOUT="1",
        PLUGIT_UPSTREAM_BREAKER_FAILURES="2",
        PLUGIT_UPSTREAM_BREAKER_COOLDOWN="1",
    )
    apply(env, workdir, projects_file(flaky.url, service_url))
    with serving(env, workdir, workers=1) as running:
        yield running


def metrics(platform: Platform) -> dict[str, float]:
    return scrape(platform.url, **AUTH)


def state_of(samples: dict[str, float], project: str, instance: str) -> dict[str, float]:
    """The instance's state gauge: {state: value}."""
    name = "plugit_instance_state"
    return {s: sample(samples, name, project=project, instance=instance, state=s) for s in STATES}


def shown_as(platform: Platform, project: str, instance: str, state: str) -> bool:
    return state_of(metrics(platform), project, instance)[state] == 1


def transitions(samples: dict[str, float], project: str, instance: str) -> dict[str, float]:
    name = "plugit_instance_transitions_total"
    return {
        moved: sample(samples, name, project=project, instance=instance, transition=moved)
        for moved in ("ejected", "readmitted", "refused")
    }


def test_a_killed_instance_is_counted_ejected_then_readmitted(
    health_platform: Platform, flaky: KillableInstance
) -> None:
    url = flaky.url
    assert httpx.get(health_platform.url + "/p/flaky/live", timeout=15).status_code == 200
    wait_for(lambda: shown_as(health_platform, "flaky", url, "up"), "the first probe")
    assert transitions(metrics(health_platform), "flaky", url) == {
        "ejected": 0,
        "readmitted": 0,
        "refused": 0,
    }

    flaky.kill()
    wait_for(lambda: shown_as(health_platform, "flaky", url, "ejected"), "the ejection")
    time.sleep(1.5)  # more failed probes while it is out: no new ejection is counted
    after_kill = metrics(health_platform)
    assert state_of(after_kill, "flaky", url) == {"new": 0, "up": 0, "ejected": 1, "refused": 0}
    assert transitions(after_kill, "flaky", url) == {"ejected": 1, "readmitted": 0, "refused": 0}
    refused = httpx.get(health_platform.url + "/p/flaky/live", timeout=15)
    assert refused.status_code == 503  # out of rotation: not even called

    flaky.start()  # the same port again
    wait_for(lambda: shown_as(health_platform, "flaky", url, "up"), "the readmission")
    back = metrics(health_platform)
    assert state_of(back, "flaky", url) == {"new": 0, "up": 1, "ejected": 0, "refused": 0}
    assert transitions(back, "flaky", url) == {"ejected": 1, "readmitted": 1, "refused": 0}
    assert httpx.get(health_platform.url + "/p/flaky/live", timeout=15).status_code == 200


def test_a_route_breaker_opens_half_opens_and_closes_and_is_counted(
    health_platform: Platform, service_url: str
) -> None:
    UNSTUCK.clear()
    page = health_platform.url + "/p/slowpoke/stuck"
    labels = {"project": "slowpoke", "instance": service_url}
    try:
        before = metrics(health_platform)
        assert [httpx.get(page, timeout=15).status_code for _ in range(2)] == [504, 504]
        opened = metrics(health_platform)
        assert sample(opened, "plugit_breakers_open", **labels) == 1
        assert httpx.get(page, timeout=15).status_code == 503  # refused at once: open
    finally:
        UNSTUCK.set()
    statuses: list[int] = []

    def answered() -> bool:  # after the 1 s cool-down, the trial call closes it
        statuses.append(httpx.get(page, timeout=15).status_code)
        return statuses[-1] == 200

    wait_for(answered, "the route's trial call")
    assert set(statuses[:-1]) <= {503}, statuses
    after = metrics(health_platform)
    name = "plugit_breaker_transitions_total"
    moved = {
        state: sample(after, name, state=state, **labels)
        - sample(before, name, state=state, **labels)
        for state in ("open", "half-open", "closed")
    }
    assert moved == {"open": 1, "half-open": 1, "closed": 1}
    assert sample(after, "plugit_breakers_open", **labels) == 0
    assert shown_as(health_platform, "slowpoke", service_url, "up")  # its ping kept answering
