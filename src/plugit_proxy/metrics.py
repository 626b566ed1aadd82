"""The proxy's Prometheus metrics: one function per event, so each call site is one line.

Labels are bounded: the project's key, the service instance (its base URL), the kind of
upstream call (meta, template, action, media, ping, version, other) and the status class
(2xx...), an instance's health state and the verdicts on it (health.py's few values).
Routes are never labels: any visitor can invent them.

With several worker processes the parent sets `PROMETHEUS_MULTIPROC_DIR` (serving.py) before
they start: each writes its numbers to files there, and `/metrics` (any worker) adds them up
(prometheus-client's multi-process mode). With one process they live in this process's memory.
The mail outbox's depth is read from the database when `/metrics` is scraped, so it is right
whichever process (`plugit mail worker` included) sends the mail.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .conf import metrics_dir

__all__ = [
    "CONTENT_TYPE",
    "breaker_changed",
    "breaker_dropped",
    "instance_state",
    "instance_transition",
    "kind_of",
    "mail_failed",
    "page_cache",
    "render",
    "request_done",
    "socket_closed",
    "socket_opened",
    "status_class",
    "upstream_call",
    "upstream_started",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
KINDS = frozenset({"meta", "template", "action", "media", "ping", "version", "mail"})
_OWN = CollectorRegistry(auto_describe=True)  # this process's metrics (one-process mode)

REQUESTS = Counter(
    "plugit_http_requests",
    "HTTP requests answered, by project ('' for the platform's own pages) and status class.",
    ["project", "status_class"],
    registry=_OWN,
)
REQUEST_SECONDS = Histogram(
    "plugit_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by project.",
    ["project"],
    registry=_OWN,
)
UPSTREAM_SECONDS = Histogram(
    "plugit_upstream_duration_seconds",
    "Time to a service's answer (its headers, for streamed bodies), by call kind.",
    ["project", "instance", "kind"],
    registry=_OWN,
)
UPSTREAM_FAILURES = Counter(
    "plugit_upstream_failures",
    "Service calls that got no usable answer, by reason (unavailable, timeout, busy, ...).",
    ["project", "instance", "kind", "reason"],
    registry=_OWN,
)
UPSTREAM_IN_FLIGHT = Gauge(
    "plugit_upstream_in_flight",
    "Service calls waiting for their answer now.",
    ["project", "instance"],
    registry=_OWN,
    multiprocess_mode="livesum",
)
PAGE_CACHE = Counter(
    "plugit_page_cache_lookups",
    "Page-cache lookups of cacheable pages: hit, miss, or stale (served on a service error).",
    ["project", "result"],
    registry=_OWN,
)
BREAKERS_OPEN = Gauge(
    "plugit_breakers_open",
    "Route circuit breakers not closed (open or half-open), by instance.",
    ["project", "instance"],
    registry=_OWN,
    multiprocess_mode="livesum",
)
BREAKER_CHANGES = Counter(
    "plugit_breaker_transitions",
    "Route circuit breakers changing state, by the state entered (open, half-open, closed).",
    ["project", "instance", "state"],
    registry=_OWN,
)
INSTANCE_STATES = ("new", "up", "ejected", "refused")  # health.Status values
# Each process writes its whole view of an instance (1 for its state, 0 for the three others)
# whenever that view changes, verdicts adopted from other processes included; with several
# workers the newest write wins (`livemostrecent`), as the newest verdict does among the
# processes (healthshare.py). A sum or a maximum would mix views of different ages.
INSTANCE_STATE = Gauge(
    "plugit_instance_state",
    "Each service instance's health: 1 for its state (new, up, ejected, refused), 0 otherwise.",
    ["project", "instance", "state"],
    registry=_OWN,
    multiprocess_mode="livemostrecent",
)
INSTANCE_TRANSITIONS = Counter(
    "plugit_instance_transitions",
    "Health verdicts this process reached: ejected, readmitted, refused (protocol version).",
    ["project", "instance", "transition"],
    registry=_OWN,
)
SOCKETS_OPEN = Gauge(
    "plugit_websockets_open",
    "WebSockets relayed now.",
    ["project"],
    registry=_OWN,
    multiprocess_mode="livesum",
)
MAIL_FAILURES = Counter(
    "plugit_mail_send_failures",
    "Mail sends that failed: `retry` (tried again later) or `failed` (given up).",
    ["outcome"],
    registry=_OWN,
)


def status_class(status: int) -> str:
    """`2xx` for 204, `5xx` for 502... (`0xx`: no answer was sent)."""
    return f"{status // 100}xx"


def kind_of(path: str) -> str:
    """The kind of a service call from its path after the base URL (`action/show/3`: action)."""
    first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    return first if first in KINDS else "other"


def request_done(project: str, status: int, seconds: float) -> None:
    """Count an answered HTTP request and its duration."""
    REQUESTS.labels(project, status_class(status)).inc()
    REQUEST_SECONDS.labels(project).observe(seconds)


def upstream_started(project: str, instance: str) -> None:
    """A service call starts waiting for its answer."""
    UPSTREAM_IN_FLIGHT.labels(project, instance).inc()


def upstream_call(
    project: str, instance: str, kind: str, seconds: float, failure: str | None
) -> None:
    """A service call got its answer (or `failure`, a reason): record how long it took."""
    UPSTREAM_IN_FLIGHT.labels(project, instance).dec()
    UPSTREAM_SECONDS.labels(project, instance, kind).observe(seconds)
    if failure is not None:
        UPSTREAM_FAILURES.labels(project, instance, kind, failure).inc()


def page_cache(project: str, result: str) -> None:
    """A cacheable page was looked up in the page cache: `hit`, `miss` or `stale`."""
    PAGE_CACHE.labels(project, result).inc()


def breaker_changed(project: str, instance: str, before: str, after: str) -> None:
    """A route breaker of `instance` went from state `before` to `after` (breaker.State values)."""
    if before == after:
        return
    BREAKER_CHANGES.labels(project, instance, after).inc()
    if before == "closed":
        BREAKERS_OPEN.labels(project, instance).inc()
    elif after == "closed":
        BREAKERS_OPEN.labels(project, instance).dec()


def breaker_dropped(project: str, instance: str, state: str) -> None:
    """A route breaker in `state` was forgotten (the oldest, to bound memory): not open now."""
    if state != "closed":
        BREAKERS_OPEN.labels(project, instance).dec()


def instance_state(projects: Iterable[str], instance: str, state: str) -> None:
    """Show `instance`'s health, as this process sees it now (a health.Status value)."""
    for project in projects:
        for each in INSTANCE_STATES:
            INSTANCE_STATE.labels(project, instance, each).set(1 if each == state else 0)


def instance_transition(projects: Iterable[str], instance: str, transition: str) -> None:
    """Count a verdict on `instance` this process reached: ejected, readmitted or refused."""
    for project in projects:
        INSTANCE_TRANSITIONS.labels(project, instance, transition).inc()


def socket_opened(project: str) -> None:
    """A WebSocket relay started."""
    SOCKETS_OPEN.labels(project).inc()


def socket_closed(project: str) -> None:
    """A WebSocket relay ended."""
    SOCKETS_OPEN.labels(project).dec()


def mail_failed(*, given_up: bool) -> None:
    """A mail could not be sent: tried again later, or `given_up` for good."""
    MAIL_FAILURES.labels("failed" if given_up else "retry").inc()


class OutboxDepth(Collector):
    """The outbox's messages by project and status, read from the database when scraped."""

    def collect(self) -> Iterator[Metric]:
        from django.db import DatabaseError, close_old_connections
        from django.db.models import Count

        from .mail.models import OutboxMessage

        family = GaugeMetricFamily(
            "plugit_mail_outbox_messages",
            "Mail in the outbox by project and status (queued, sending, failed; sent is left out).",
            labels=["project", "status"],
        )
        try:
            rows = (
                OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT)
                .order_by()
                .values_list("project_key", "status")
                .annotate(count=Count("pk"))
            )
            counts = {(project, status): count for project, status, count in rows}
        except DatabaseError:  # no outbox table (never migrated) or the database is away
            return
        finally:
            close_old_connections()
        for (project, status), count in sorted(counts.items()):
            family.add_metric([project, status], count)
        yield family


def render() -> bytes:
    """The exposition text of every process's metrics, and the outbox's (blocking: off-loop)."""
    folder = metrics_dir()
    if folder:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(_OWN))
    registry.register(OutboxDepth())
    return generate_latest(registry)


class _Forward(Collector):
    """Another registry's metrics, to scrape them beside collectors added per scrape."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        return iter(self.source.collect())
