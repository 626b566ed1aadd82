"""Run the checks: ping, version and the guard, then meta, template and action of each route."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence

from plugit import pagerules
from plugit.check.action_rules import check_action, check_cors_answer, cors_declared
from plugit.check.calls import NOT_JSON, Caller, read_json
from plugit.check.findings import Report
from plugit.check.meta_rules import check_meta, check_missing_route, check_template
from plugit.check.service_rules import (
    FORWARDED_ADDRESS,
    check_forwarded_for,
    check_ping,
    check_reachable,
    check_version,
)
from plugit.metarules import meta_key_problems
from plugit.protocol import (
    DEFAULT_USER_FIELDS,
    HEADER_AC_REQUEST_METHOD,
    HEADER_ORIGIN,
    PATH_ACTION,
    PATH_DEV_ROUTES,
    PATH_META,
    PATH_PING,
    PATH_TEMPLATE,
    PATH_VERSION,
    Meta,
)
from plugit.routing import example_path
from plugit.simulation import DEFAULT_ORGA, USERS_BY_MODE, UserMode
from plugit.testing._flow import PageRequest, action_call, visitor

__all__ = ["CheckOptions", "RouteToCheck", "check_service"]

# A route no service has: its meta call must be a 404.
MISSING_ROUTE = "/plugit-check-no-such-route"
# The browser's address the simulated proxy reports (X-Plugit-Remote-Addr).
BROWSER_ADDRESS = "127.0.0.1"
CORS_ORIGIN = "http://checker.example"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckOptions:
    """What to check, and how: the routes (none: ask the service), the user, POST or not."""

    routes: Sequence[str] = ()
    timeout: float = 10.0
    user: UserMode = "adm"
    post: bool = False


@dataclasses.dataclass(frozen=True)
class RouteToCheck:
    """A path to call, and the methods its action declares (None when unknown)."""

    path: str
    methods: tuple[str, ...] | None = None


def check_service(url: str, options: CheckOptions | None = None) -> Report:
    """Check the service at `url` against the protocol; raise ServiceUnreachable when none."""
    options = options or CheckOptions()
    report = Report(service=url)
    with Caller(url, report, timeout=options.timeout) as caller:
        if not _check_service_calls(caller, report):
            return report
        routes = _routes(caller, report, options)
        if routes:
            _check_missing_route(caller, report)
        for route in routes:
            _check_route(caller, report, route, options)
    return report


def _check_service_calls(caller: Caller, report: Report) -> bool:
    """Ping, version and the guard; False when nothing more can be checked."""
    token = secrets.token_hex(4)
    ping = caller.call(PATH_PING, "GET", PATH_PING, params=[("data", token)])
    if ping is None:
        return False
    version = caller.call(PATH_VERSION, "GET", PATH_VERSION)
    if version is None:
        return False
    check_ping(report, ping, token)
    check_version(report, version)
    if not check_reachable(report, ping, version):
        return False
    forwarded = caller.call(
        f"{PATH_PING} (X-Forwarded-For)",
        "GET",
        PATH_PING,
        params=[("data", token)],
        headers={"X-Forwarded-For": FORWARDED_ADDRESS},
    )
    if forwarded is not None:
        check_forwarded_for(report, forwarded)
    return True


def _routes(caller: Caller, report: Report, options: CheckOptions) -> list[RouteToCheck]:
    """The routes given, else those a service in DEBUG lists, else none (and say so)."""
    if options.routes:
        report.routes_from = "arguments"
        report.routes = [_with_slash(route) for route in options.routes]
        return [RouteToCheck(route) for route in report.routes]
    answer = caller.call(PATH_DEV_ROUTES, "GET", PATH_DEV_ROUTES)
    listed = read_json(answer) if answer is not None and answer.status_code == 200 else NOT_JSON
    routes = _listed(listed)
    if routes is None:
        report.add(
            "info",
            "routes-needed",
            PATH_DEV_ROUTES,
            expected="routes to check",
            got="none given, and the service lists none (only a service of this SDK in DEBUG "
            "does): name them, e.g. plugit check URL / /show/1",
        )
        return []
    report.routes_from = "service"
    report.routes = [route.path for route in routes]
    return routes


def _listed(listed: object) -> list[RouteToCheck] | None:
    """Read `{"routes": [{"route", "methods"}, ...]}`; None when it is not that."""
    if not isinstance(listed, dict) or not isinstance(listed.get("routes"), list):
        return None
    routes = []
    for entry in listed["routes"]:
        if isinstance(entry, dict) and isinstance(entry.get("route"), str):
            methods = entry.get("methods")
            declared = tuple(str(m).upper() for m in methods) if isinstance(methods, list) else None
            routes.append(RouteToCheck(example_path(entry["route"]), declared))
    return routes


def _with_slash(route: str) -> str:
    return route if route.startswith("/") else "/" + route


def _check_missing_route(caller: Caller, report: Report) -> None:
    label = f"meta {MISSING_ROUTE}"
    answer = caller.call(label, "GET", PATH_META + MISSING_ROUTE)
    if answer is not None:
        check_missing_route(report, label, answer)


def _check_route(
    caller: Caller, report: Report, route: RouteToCheck, options: CheckOptions
) -> None:
    """Meta, then template and action the way the proxy makes them."""
    label = f"meta {route.path}"
    answer = caller.call(label, "GET", PATH_META + route.path)
    meta = check_meta(report, label, answer) if answer is not None else None
    if meta is None:
        return
    tag = meta.get("template_tag", "")
    if tag:
        label = f"template {route.path}"
        answer = caller.call(label, "GET", PATH_TEMPLATE + route.path)
        if answer is not None:
            check_template(report, label, answer, tag)
    if meta_key_problems(meta):  # the proxy's rules cannot read such a meta: fix it first
        report.add(
            "info",
            "action-skipped",
            f"action {route.path}",
            expected="a meta the proxy can read",
            got="the meta's key types are wrong (above), so the action was not called",
        )
        return
    for method in _methods(report, route, options):
        _check_action(caller, report, route.path, method, meta, options)


def _methods(report: Report, route: RouteToCheck, options: CheckOptions) -> list[str]:
    """GET when the action takes it (or nobody knows); POST too with --post."""
    declared = route.methods
    methods = [m for m in ("GET", "POST") if declared is None or m in declared]
    if not options.post and "POST" in methods:
        methods.remove("POST")
        if not methods:
            report.add(
                "info",
                "action-skipped",
                f"action POST {route.path}",
                expected="an action to call",
                got="it takes POST only, which changes data: --post calls it",
            )
    return methods


def _check_action(
    caller: Caller, report: Report, path: str, method: str, meta: Meta, options: CheckOptions
) -> None:
    label = f"action {method} {path}"
    request = PageRequest(
        method=method,
        path=path,
        user=USERS_BY_MODE[options.user],
        orga=DEFAULT_ORGA,
        orga_mode=True,
        remote_addr=BROWSER_ADDRESS,
        user_fields=(*DEFAULT_USER_FIELDS, *(meta.get("user_info") or ())),
    )
    seen = visitor(request)
    refused = pagerules.refused_rule(meta, seen, orga_mode=True)
    if refused is not None:
        report.add(
            "info",
            "action-skipped",
            label,
            expected="an action the simulated user may call",
            got=f"the proxy refuses it to the user {options.user!r} ({refused}): "
            "--user picks another",
        )
        return
    outgoing = action_call(meta, request, seen)
    answer = caller.call(
        label,
        method,
        outgoing.path,
        params=outgoing.params,
        data=outgoing.data,
        headers=outgoing.headers,
    )
    if answer is None:
        return
    check_action(report, label, answer, meta)
    if cors_declared(answer):
        check_cors_answer(report, label, answer, options=False)
        if method == "GET":
            _check_options(caller, report, path, outgoing.headers)


def _check_options(caller: Caller, report: Report, path: str, headers: dict[str, str]) -> None:
    label = f"action OPTIONS {path}"
    preflight = {**headers, HEADER_ORIGIN: CORS_ORIGIN, HEADER_AC_REQUEST_METHOD: "GET"}
    answer = caller.call(label, "OPTIONS", PATH_ACTION + path, headers=preflight)
    if answer is not None:
        check_cors_answer(report, label, answer, options=True)
