"""The rules for `<METHOD> action<route>` (docs/protocol.md §2, §4 step 4) and its CORS answers."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from plugit import pagerules
from plugit.check.calls import shown
from plugit.check.findings import Report
from plugit.protocol import (
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_SET_SESSION_PREFIX,
    PASS_THROUGH_STATUSES,
    Meta,
)

__all__ = ["check_action", "check_cors_answer", "cors_declared"]

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
MAX_AGE = "Access-Control-Max-Age"
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def check_action(report: Report, label: str, response: httpx.Response, meta: Meta) -> None:
    """Check what the action answered, as the proxy will read it."""
    raw = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw
    ]
    method = response.request.method
    answer = pagerules.read_answer(method, response.status_code, response.headers, raw)
    _check_session_names(report, label, raw)
    if answer.outcome in ("error", "not_modified"):
        _check_status(report, label, response.status_code)
    elif answer.outcome == "redirect":
        _check_redirect(report, label, response, answer.redirect or "")
    elif answer.outcome == "file":
        _check_file(report, label, response)
    elif answer.outcome == "data":
        _check_data(report, label, response, meta)


def _check_status(report: Report, label: str, status: int) -> None:
    if status == 500:
        report.add(
            "error",
            "action-status",
            label,
            expected="200 (or a status the proxy passes on: 304, 401, 403, 404, 429)",
            got="500: the action failed; the service's log has the traceback",
        )
    elif status in PASS_THROUGH_STATUSES:
        report.add(
            "info",
            "action-status",
            label,
            expected="200",
            got=f"{status}, which the proxy passes to the browser (a sample value in the route?)",
        )
    elif status == 405:
        report.add(
            "info",
            "action-status",
            label,
            expected="an answer to this method",
            got="405: the action does not accept it",
        )
    else:
        report.add(
            "warning",
            "action-status",
            label,
            expected="200, 500, or a status the proxy passes on (304, 401, 403, 404, 429)",
            got=f"{status}, which the proxy turns into its 404 page",
        )


def _check_redirect(report: Report, label: str, response: httpx.Response, target: str) -> None:
    headers = response.headers
    no_prefix = headers.get(HEADER_REDIRECT_NO_PREFIX)
    if not target.strip():
        report.add(
            "error",
            "action-redirect",
            label,
            expected=f"{HEADER_REDIRECT}: <url>",
            got=f"{HEADER_REDIRECT} with no URL",
        )
    elif no_prefix is None and _ABSOLUTE.match(target):
        report.add(
            "error",
            "action-redirect",
            label,
            expected=f"a path below the proxy's mount, or {HEADER_REDIRECT_NO_PREFIX}: True "
            "for a URL used as is",
            got=f"{HEADER_REDIRECT}: {target}, which the proxy would put below its mount",
        )
    if no_prefix is not None and no_prefix not in ("True", "False"):
        report.add(
            "warning",
            "action-redirect",
            label,
            expected=f"{HEADER_REDIRECT_NO_PREFIX}: True",
            got=f"{HEADER_REDIRECT_NO_PREFIX}: {no_prefix!r}",
        )
    if response.content.strip():
        report.add(
            "warning",
            "action-redirect",
            label,
            expected="an empty body with a redirect",
            got=f"{shown(response.content)}, which the proxy drops",
        )


def _check_file(report: Report, label: str, response: httpx.Response) -> None:
    headers = response.headers
    if headers.get(HEADER_IS_FILE) != "True":
        report.add(
            "warning",
            "action-file",
            label,
            expected=f"{HEADER_IS_FILE}: True",
            got=f"{HEADER_IS_FILE}: {headers.get(HEADER_IS_FILE)!r}",
        )
    if not headers.get("content-type"):
        report.add(
            "error",
            "action-file",
            label,
            expected="a file with its Content-Type",
            got="no Content-Type",
        )
    disposition = headers.get("content-disposition")
    if disposition is not None and not disposition.lower().startswith(("attachment", "inline")):
        report.add(
            "warning",
            "action-file",
            label,
            expected="Content-Disposition: attachment; filename=...",
            got=f"Content-Disposition: {disposition}",
        )


def _check_session_names(report: Report, label: str, raw: list[tuple[str, str]]) -> None:
    for name, value in raw:
        if name.lower() == HEADER_SET_SESSION_PREFIX.lower():
            report.add(
                "error",
                "action-session",
                label,
                expected=f"{HEADER_SET_SESSION_PREFIX}<key>: <value>",
                got=f"{name}: {value} (no key), which the proxy ignores",
            )


def _check_data(report: Report, label: str, response: httpx.Response, meta: Meta) -> None:
    kind = pagerules.answer_kind(meta)
    data: Any = {}
    if response.content.strip():
        try:
            data = json.loads(response.content)
        except ValueError:
            report.add(
                "error",
                "action-not-json",
                label,
                expected="the action's result as JSON (or an empty body)",
                got=f"{shown(response.content)}, not JSON (the proxy's 502 page)",
            )
            return
    problem = pagerules.data_problem(kind, data)
    if problem is not None:
        report.add(
            "error",
            "action-data",
            label,
            expected="a JSON object"
            + (' with an "xml" string (xml_only)' if kind == "xml" else ""),
            got=f"{shown(response.content)}: {problem} (the proxy's 502 page)",
        )
    elif kind in ("page", "bare") and not meta.get("template_tag"):
        report.add(
            "error",
            "action-no-template",
            label,
            expected="a template for a page (or @json_only / @xml_only)",
            got='template_tag "": the proxy answers 404 for this page',
        )


def cors_declared(response: httpx.Response) -> bool:
    """Tell whether an action answers CORS (`@crossdomain`): its answer names allowed origins."""
    return ALLOW_ORIGIN in response.headers


def check_cors_answer(
    report: Report, label: str, response: httpx.Response, *, options: bool
) -> None:
    """The CORS headers of an answer; an `OPTIONS` answer must be a 200 that carries them."""
    headers = response.headers
    if options and (response.status_code != 200 or ALLOW_ORIGIN not in headers):
        report.add(
            "error",
            "cors-options",
            label,
            expected=f"200 with {ALLOW_ORIGIN} (an action that answers CORS answers OPTIONS)",
            got=f"{response.status_code}"
            + ("" if ALLOW_ORIGIN in headers else f", no {ALLOW_ORIGIN}"),
        )
        return
    methods = headers.get(ALLOW_METHODS)
    if methods is None:
        report.add(
            "warning",
            "cors-headers",
            label,
            expected=f"{ALLOW_METHODS} with {ALLOW_ORIGIN}",
            got=f"no {ALLOW_METHODS}",
        )
    else:
        tidy = ", ".join(
            sorted({part.strip().upper() for part in methods.split(",") if part.strip()})
        )
        if methods != tidy:
            report.add(
                "warning",
                "cors-headers",
                label,
                expected=f"{ALLOW_METHODS} in capitals, sorted, joined with ', ': {tidy}",
                got=f"{ALLOW_METHODS}: {methods}",
            )
    age = headers.get(MAX_AGE)
    if age is not None and not age.strip().isdigit():
        report.add(
            "warning",
            "cors-headers",
            label,
            expected=f"{MAX_AGE}: <seconds>",
            got=f"{MAX_AGE}: {age}",
        )
