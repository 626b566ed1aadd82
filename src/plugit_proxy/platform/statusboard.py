"""What the administrators' status page and `plugit platform status` show, and from where.

Projects, versions and instances come from the database (configured and self-registered
instances). Everything else comes from the metrics' own exposition text, `metrics.render()`
or a process's `/metrics`, parsed here: each instance's health (`plugit_instance_state`) and
its ejections, readmissions and refusals, calls, failures, latency, breakers, requests, the
outbox. The page and the monitoring cannot disagree, and nothing is counted twice.
Counters run from the process's start (with several workers, from the oldest worker's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ..config import PRODUCTION

__all__ = [
    "InstanceNumbers",
    "InstanceRow",
    "MetricsSnapshot",
    "ProjectNumbers",
    "ProjectRow",
    "build_status",
    "local_snapshot",
    "parse_metrics",
    "status_lines",
]


@dataclass
class InstanceNumbers:
    """One instance's service calls, as the metrics count them."""

    calls: int = 0
    failures: int = 0
    seconds: float = 0.0  # the calls' total time
    in_flight: int = 0
    breakers_open: int = 0
    state: str = ""  # new, up, ejected, refused ("": the process does not follow it yet)
    transitions: dict[str, int] = field(default_factory=dict)  # ejected, readmitted, refused

    @property
    def health(self) -> str:
        """Its health as the process sees it: `unknown` before its first call or probe."""
        return self.state or "unknown"

    @property
    def ejections(self) -> int:
        return self.transitions.get("ejected", 0)

    @property
    def readmissions(self) -> int:
        return self.transitions.get("readmitted", 0)

    @property
    def refusals(self) -> int:
        return self.transitions.get("refused", 0)

    @property
    def error_rate(self) -> float | None:
        """Failed calls over calls (None: no call yet)."""
        return self.failures / self.calls if self.calls else None

    @property
    def mean_ms(self) -> float | None:
        """The calls' mean time to an answer, in milliseconds (None: no call yet)."""
        return 1000 * self.seconds / self.calls if self.calls else None


@dataclass
class ProjectNumbers:
    """One project's answered requests by status class, and their time."""

    by_class: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    count: int = 0

    @property
    def requests(self) -> int:
        return sum(self.by_class.values())

    @property
    def error_rate(self) -> float | None:
        """Server errors (5xx) over requests (None: no request yet)."""
        total = self.requests
        return self.by_class.get("5xx", 0) / total if total else None

    @property
    def mean_ms(self) -> float | None:
        return 1000 * self.seconds / self.count if self.count else None


@dataclass
class MetricsSnapshot:
    """The numbers of one exposition, by project and by (project, instance)."""

    instances: defaultdict[tuple[str, str], InstanceNumbers] = field(
        default_factory=lambda: defaultdict(InstanceNumbers)
    )
    projects: defaultdict[str, ProjectNumbers] = field(
        default_factory=lambda: defaultdict(ProjectNumbers)
    )
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)

    def instance(self, project: str, url: str) -> InstanceNumbers:
        return self.instances.get((project, url.rstrip("/")), InstanceNumbers())

    def project(self, project: str) -> ProjectNumbers:
        return self.projects.get(project, ProjectNumbers())

    def outbox_of(self, project: str) -> dict[str, int]:
        """The project's mail not sent yet, by status (queued, sending, failed)."""
        return {status: n for (key, status), n in sorted(self.outbox.items()) if key == project}


def parse_metrics(text: str) -> MetricsSnapshot:
    """Read the Prometheus exposition `text` (what `/metrics` answers)."""
    snapshot = MetricsSnapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            _take(snapshot, sample.name, sample.labels, sample.value)
    return snapshot


def _take(snapshot: MetricsSnapshot, name: str, labels: dict[str, str], value: float) -> None:
    project = labels.get("project", "")
    if "instance" in labels:
        numbers = snapshot.instances[(project, labels["instance"].rstrip("/"))]
        if name == "plugit_upstream_duration_seconds_count":
            numbers.calls += int(value)
        elif name == "plugit_upstream_duration_seconds_sum":
            numbers.seconds += value
        elif name == "plugit_upstream_failures_total":
            numbers.failures += int(value)
        elif name == "plugit_upstream_in_flight":
            numbers.in_flight += int(value)
        elif name == "plugit_breakers_open":
            numbers.breakers_open += int(value)
        elif name == "plugit_instance_state" and value == 1:
            numbers.state = labels["state"]
        elif name == "plugit_instance_transitions_total":
            moved = labels["transition"]
            numbers.transitions[moved] = numbers.transitions.get(moved, 0) + int(value)
    elif name == "plugit_http_requests_total":
        counts = snapshot.projects[project].by_class
        counts[labels["status_class"]] = counts.get(labels["status_class"], 0) + int(value)
    elif name == "plugit_request_duration_seconds_sum":
        snapshot.projects[project].seconds += value
    elif name == "plugit_request_duration_seconds_count":
        snapshot.projects[project].count += int(value)
    elif name == "plugit_mail_outbox_messages":
        snapshot.outbox[(project, labels["status"])] = int(value)


def local_snapshot() -> MetricsSnapshot:
    """This process's numbers (its workers' with several), exactly as its `/metrics` says."""
    from .. import metrics

    return parse_metrics(metrics.render().decode())


@dataclass
class InstanceRow:
    """One instance of a version: where it comes from, its health and numbers (the metrics')."""

    url: str
    origin: str  # "configured" or "registered, approved, live (heartbeat 3 s ago)"...
    numbers: InstanceNumbers

    @property
    def health(self) -> str:
        return self.numbers.health


@dataclass
class ProjectRow:
    """A project, its versions' instances, its requests and its outbox."""

    slug: str
    name: str
    versions: list[tuple[str, bool, list[InstanceRow]]]  # name, shadow, instances
    numbers: ProjectNumbers
    outbox: dict[str, int]


def build_status(snapshot: MetricsSnapshot) -> list[ProjectRow]:
    """Every project with its versions and instances, and `snapshot`'s numbers (sync)."""
    from ..registry.instances import is_live, registry_settings
    from . import models

    ttl, _ = registry_settings()
    rows = []
    projects = models.Project.objects.prefetch_related("services", "registered_instances")
    for project in projects.order_by("slug"):
        found: dict[str, list[InstanceRow]] = {}
        for service in project.services.all():
            row = InstanceRow(
                service.url, "configured", snapshot.instance(project.slug, service.url)
            )
            found.setdefault(service.version, []).append(row)
        for instance in project.registered_instances.all():
            approved = "approved" if instance.approved else "pending approval"
            live = "live" if is_live(instance, ttl) else "expired"
            origin = f"registered, {approved}, {live}"
            row = InstanceRow(instance.url, origin, snapshot.instance(project.slug, instance.url))
            found.setdefault(instance.version, []).append(row)
        shadows = set(project.shadow_versions or ())
        order = sorted(found, key=lambda name: (name != PRODUCTION, name))
        versions = [(name, name in shadows, found[name]) for name in order]
        numbers, outbox = snapshot.project(project.slug), snapshot.outbox_of(project.slug)
        rows.append(ProjectRow(project.slug, project.name, versions, numbers, outbox))
    return rows


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


def milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def status_lines(rows: list[ProjectRow]) -> Iterator[str]:
    """The same as the page, one line per project, version and instance."""
    for project in rows:
        numbers = project.numbers
        yield (
            f"project {project.slug} ({project.name}): {numbers.requests} requests, "
            f"{percent(numbers.error_rate)} 5xx, mean {milliseconds(numbers.mean_ms)}; "
            f"outbox {_outbox(project.outbox)}"
        )
        for version, shadow, instances in project.versions:
            yield f"  version {version}{' (shadow)' if shadow else ''}"
            for row in instances:
                calls = row.numbers
                yield (
                    f"    {row.url}  {row.origin}  health: {row.health} (ejected "
                    f"{calls.ejections}, readmitted {calls.readmissions}, refused "
                    f"{calls.refusals})  breakers open: "
                    f"{calls.breakers_open}  calls: {calls.calls}, failed "
                    f"{percent(calls.error_rate)}, mean {milliseconds(calls.mean_ms)}, "
                    f"in flight {calls.in_flight}"
                )


def _outbox(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "empty"


def fetch_snapshot(url: str, token: str) -> MetricsSnapshot:
    """A running process's numbers, read from its `/metrics` at `url` (blocking)."""
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the operator's URL)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return parse_metrics(answer.read().decode())


def print_board(metrics_url: str, out: Any, err: Any) -> int:
    """Print the status page's lines with the numbers of the process at `metrics_url`."""
    from django.conf import settings
    from django.db import DatabaseError

    token = settings.PLUGIT_CONFIGURATION.server.metrics_token
    try:
        snapshot = fetch_snapshot(metrics_url, token)
    except (OSError, ValueError) as error:
        print(f"plugit: error: cannot read {metrics_url}: {error}", file=err)
        return 1
    try:
        rows = build_status(snapshot)
    except DatabaseError as error:
        print(f"plugit: error: cannot read the platform's database: {error}", file=err)
        return 1
    print(f"numbers of {metrics_url}, since that process started", file=out)
    for line in status_lines(rows):
        print(line, file=out)
    return 0
