"""What `plugit check` found: one `Finding` per broken (or doubtful) expectation, and a `Report`."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

__all__ = ["LEVELS", "Finding", "Level", "Report"]

Level = Literal["error", "warning", "info"]
LEVELS: tuple[Level, ...] = ("error", "warning", "info")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    """One expectation of the protocol and what the service did instead.

    `code` names the rule (stable, for scripts and CI); `call` names the call that showed it,
    e.g. `meta /polls/`; `expected` is what the protocol asks for, `got` what came back.
    """

    level: Level
    code: str
    call: str
    expected: str
    got: str

    def as_dict(self) -> dict[str, str]:
        """The finding as a JSON object."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(kw_only=True)
class Report:
    """Everything one run found about a service."""

    service: str
    routes: list[str] = dataclasses.field(default_factory=list)
    routes_from: Literal["arguments", "service", "none"] = "none"
    calls: int = 0
    findings: list[Finding] = dataclasses.field(default_factory=list)

    def add(self, level: Level, code: str, call: str, *, expected: str, got: str) -> None:
        """Record a finding."""
        self.findings.append(Finding(level=level, code=code, call=call, expected=expected, got=got))

    def count(self, level: Level) -> int:
        """How many findings of `level` there are."""
        return sum(1 for finding in self.findings if finding.level == level)

    def passed(self, *, strict: bool = False) -> bool:
        """No error (and, when `strict`, no warning either)."""
        return self.count("error") == 0 and not (strict and self.count("warning"))

    def as_dict(self, *, strict: bool = False) -> dict[str, Any]:
        """The report as a stable JSON document."""
        return {
            "service": self.service,
            "ok": self.passed(strict=strict),
            "strict": strict,
            "routes": list(self.routes),
            "routes_from": self.routes_from,
            "calls": self.calls,
            "counts": {level: self.count(level) for level in LEVELS},
            "findings": [finding.as_dict() for finding in self.findings],
        }
