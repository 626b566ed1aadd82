"""`plugit check`: call a running service the way a proxy does and hold its answers to the protocol.

`check_service(url, CheckOptions(routes=["/"]))` calls ping, version, and for each route its
meta, template and action, and returns a `Report` of `Finding`s: what the protocol expects,
what came back. The rules are the proxy's own (`plugit.pagerules`, `plugit.metarules`).
"""

from plugit.check.calls import ServiceUnreachable
from plugit.check.findings import Finding, Level, Report
from plugit.check.report import as_json, as_text
from plugit.check.runner import CheckOptions, check_service

__all__ = [
    "CheckOptions",
    "Finding",
    "Level",
    "Report",
    "ServiceUnreachable",
    "as_json",
    "as_text",
    "check_service",
]
