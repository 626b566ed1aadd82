"""The health of each service instance, as this process sees it (docs/routing.md).

An instance is `new` (never probed: calls go to it), `up`, `ejected` (out of rotation after
`eject_after` failed probes, or as many failed calls, in a row: connection-level failures
only) or `refused` (it speaks another protocol version). An ejected instance is tried again
after its backoff (the first `eject_backoff` seconds, doubled on each new failure up to
`max_backoff`): by the prober, or by a live call when no prober runs; an answer puts it back.

Every verdict (ejected, back, refused) carries its wall-clock time: verdicts are shared with
the platform's other processes (healthshare.py), and the latest one wins. Each change of
status shows in the metrics (`plugit_instance_state`, and the verdicts reached here in
`plugit_instance_transitions`: metrics.py), labelled with the projects the instance serves.
The clock is injectable; nothing here does I/O.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import metrics

__all__ = ["Health", "Instance", "Status", "Verdict"]

logger = logging.getLogger("plugit_proxy.health")

Clock = Callable[[], float]


class Status(enum.Enum):
    NEW = "new"
    UP = "up"
    EJECTED = "ejected"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A status decided at `at` (wall clock), as processes share it."""

    status: Status
    at: float
    retry_at: float = 0.0  # ejected or refused: when it is tried again
    backoff: float = 0.0
    reason: str = ""


@dataclass(slots=True)
class Instance:
    """One instance (its base URL): its status and its failures in a row."""

    url: str
    status: Status = Status.NEW
    call_failures: int = 0
    probe_failures: int = 0
    retry_at: float = 0.0
    backoff: float = 0.0
    verdict_at: float = 0.0
    reason: str = ""
    projects: set[str] = field(default_factory=set)  # the keys of the projects it serves

    @property
    def out(self) -> bool:
        return self.status is Status.EJECTED or self.status is Status.REFUSED

    def verdict(self) -> Verdict:
        return Verdict(self.status, self.verdict_at, self.retry_at, self.backoff, self.reason)


class Health:
    """Every known instance's health in this process (one event loop owns it)."""

    def __init__(
        self,
        *,
        eject_after: int,
        backoff: float,
        max_backoff: float,
        clock: Clock = time.time,
    ) -> None:
        self.eject_after = eject_after
        self.backoff = backoff
        self.max_backoff = max(max_backoff, backoff)
        self._clock = clock
        self._instances: dict[str, Instance] = {}
        self.changed: set[str] = set()  # verdicts not shared yet
        self.wake = asyncio.Event()  # set on a new instance or verdict: the prober acts
        # Whether a live call may try an ejected instance once its backoff is over (when no
        # prober of this process does it).
        self.live_trials = True

    def know(self, urls: Iterable[str], project: str = "") -> None:
        """Start following these instances of `project` (the prober probes new ones first)."""
        for url in urls:
            instance = self._instances.get(url)
            if instance is None:
                instance = self._instances[url] = Instance(url)
                self.wake.set()
            if project not in instance.projects:
                instance.projects.add(project)
                metrics.instance_state((project,), url, instance.status.value)

    @property
    def instances(self) -> list[Instance]:
        return list(self._instances.values())

    def get(self, url: str) -> Instance | None:
        return self._instances.get(url)

    def usable(self, url: str) -> bool:
        """Tell whether calls may go to `url` now (an out instance once its backoff ends)."""
        instance = self._instances.get(url)
        if instance is None or not instance.out:
            return True
        return (
            self.live_trials
            and instance.status is Status.EJECTED
            and self._clock() >= instance.retry_at
        )

    def retry_due(self, instance: Instance) -> bool:
        """Tell whether an out instance's backoff is over (it is probed again)."""
        return self._clock() >= instance.retry_at

    def answered(self, url: str) -> None:
        """A call to `url` got an HTTP answer (any status: it is alive)."""
        instance = self._instances.get(url)
        if instance is None:
            return
        instance.call_failures = 0
        if instance.status is Status.EJECTED:
            self._back_in(instance, "a call was answered")

    def call_failed(self, url: str, reason: str) -> None:
        """A call to `url` failed at the connection level (refused, reset, unreachable)."""
        if self.eject_after <= 0:
            return
        instance = self._instances.get(url)
        if instance is None:  # a call made without `pick` (a URL given directly)
            self.know((url,))
            instance = self._instances[url]
        instance.call_failures += 1
        if instance.status is Status.EJECTED or instance.call_failures >= self.eject_after:
            self.eject(url, f"{instance.call_failures} call(s) failed in a row ({reason})")

    def probe_answered(self, url: str) -> None:
        """A probe of `url` was answered (and its protocol version is ours)."""
        instance = self._instances.get(url)
        if instance is None:
            return
        instance.probe_failures = 0
        if instance.out:
            self._back_in(instance, "it answers its probe")
        elif instance.status is Status.NEW:
            instance.status = Status.UP
            _show(instance)

    def probe_failed(self, url: str, reason: str) -> None:
        """A probe of `url` failed (no answer, or an error status)."""
        instance = self._instances.get(url)
        if instance is None or self.eject_after <= 0:
            return
        instance.probe_failures += 1
        if instance.out or instance.probe_failures >= self.eject_after:
            self.eject(url, f"{instance.probe_failures} probe(s) failed in a row ({reason})")

    def eject(self, url: str, reason: str) -> None:
        """Take `url` out of rotation for its next backoff (doubled if it was out already)."""
        instance = self._instances.get(url)
        if instance is None:
            instance = self._instances[url] = Instance(url)
        now = self._clock()
        again = instance.out
        instance.backoff = (
            min(instance.backoff * 2, self.max_backoff) if again else self.backoff
        ) or self.backoff
        instance.status, instance.retry_at = Status.EJECTED, now + instance.backoff
        instance.reason = reason
        self._decided(instance, now)
        _show(instance, None if again else "ejected")
        if again:
            logger.info(
                "instance %s stays out of rotation: %s; next try in %g s",
                url,
                reason,
                instance.backoff,
            )
        else:
            logger.warning(
                "instance %s taken out of rotation: %s; probed again in %g s",
                url,
                reason,
                instance.backoff,
            )

    def refuse(self, url: str, reason: str) -> None:
        """Refuse `url` (another protocol version) until a later probe finds ours."""
        instance = self._instances.get(url)
        if instance is None:
            return
        now = self._clock()
        was = instance.status
        instance.backoff = self.max_backoff
        instance.status, instance.retry_at = Status.REFUSED, now + self.max_backoff
        instance.reason = reason
        self._decided(instance, now)
        _show(instance, None if was is Status.REFUSED else "refused")
        if was is not Status.REFUSED:
            logger.error("instance %s refused: %s", url, reason)

    def adopt(self, url: str, verdict: Verdict) -> None:
        """Take another process's verdict on `url` when it is newer than ours."""
        instance = self._instances.get(url)
        if instance is None or verdict.at <= instance.verdict_at:
            return
        if verdict.status is not instance.status:
            logger.info(
                "instance %s is %s (another process's verdict: %s)",
                url,
                verdict.status.value,
                verdict.reason or "-",
            )
        instance.status, instance.verdict_at = verdict.status, verdict.at
        instance.retry_at, instance.backoff = verdict.retry_at, verdict.backoff
        instance.reason = verdict.reason
        instance.call_failures = instance.probe_failures = 0
        _show(instance)  # another process's verdict: counted there

    def _back_in(self, instance: Instance, why: str) -> None:
        instance.status, instance.backoff, instance.retry_at = Status.UP, 0.0, 0.0
        instance.call_failures = instance.probe_failures = 0
        instance.reason = ""
        self._decided(instance, self._clock())
        _show(instance, "readmitted")
        logger.warning("instance %s back in rotation: %s", instance.url, why)

    def _decided(self, instance: Instance, now: float) -> None:
        # Strictly after any verdict adopted so far: ours is the newest.
        instance.verdict_at = max(now, instance.verdict_at + 1e-6)
        self.changed.add(instance.url)
        self.wake.set()


def _show(instance: Instance, transition: str | None = None) -> None:
    """Put `instance`'s status in the metrics, and count `transition` (a verdict reached here)."""
    metrics.instance_state(instance.projects, instance.url, instance.status.value)
    if transition is not None:
        metrics.instance_transition(instance.projects, instance.url, transition)
