"""The report of `plugit check`: one line per finding and a summary, or a JSON document."""

from __future__ import annotations

import json

from plugit.check.findings import Finding, Level, Report

__all__ = ["as_json", "as_text"]


def finding_line(finding: Finding) -> str:
    """`error   meta /polls/  [meta-key-type] expected ...; got ...`."""
    return (
        f"{finding.level:<7} {finding.call}  [{finding.code}] "
        f"expected {finding.expected}; got {finding.got}"
    )


def summary_line(report: Report, *, strict: bool) -> str:
    """The last line: the verdict and the counts."""
    routes = len(report.routes)
    names: tuple[tuple[Level, str], ...] = (
        ("error", "errors"),
        ("warning", "warnings"),
        ("info", "notes"),
    )
    counts = ", ".join(
        f"{report.count(level)} {name[:-1] if report.count(level) == 1 else name}"
        for level, name in names
    )
    verdict = "ok" if report.passed(strict=strict) else "FAILED"
    return (
        f"{verdict}: {report.service}: {routes} route{'s' * (routes != 1)}, "
        f"{report.calls} calls, {counts}" + (" (--strict: warnings fail)" if strict else "")
    )


def as_text(report: Report, *, strict: bool = False) -> str:
    """The human report: one line per finding, then the summary."""
    lines = [finding_line(finding) for finding in report.findings]
    return "\n".join([*lines, summary_line(report, strict=strict)])


def as_json(report: Report, *, strict: bool = False) -> str:
    """The report as a stable JSON document (see `Report.as_dict`)."""
    return json.dumps(report.as_dict(strict=strict), indent=2, ensure_ascii=False)
