"""The rules for the calls about the service as a whole: ping, version, the network guard."""

from __future__ import annotations

import httpx

from plugit.check.calls import NOT_JSON, json_text, read_json, shown
from plugit.check.findings import Report
from plugit.protocol import PATH_PING, PATH_VERSION, PROTOCOL_NAME, PROTOCOL_VERSION

__all__ = [
    "FORWARDED_ADDRESS",
    "check_forwarded_for",
    "check_ping",
    "check_reachable",
    "check_version",
]

# A documentation address (RFC 5737) that no proxy calls from: what a forged header would say.
FORWARDED_ADDRESS = "192.0.2.1"


def check_ping(report: Report, response: httpx.Response, token: str) -> None:
    """`GET ping?data=X` answers 200 and `{"data": "X"}` (a 404 is judged with `version`)."""
    expected = f'200 with {{"data": "{token}"}}'
    if response.status_code == 404:
        return
    if response.status_code != 200:
        report.add("error", "ping-status", PATH_PING, expected=expected, got=_status(response))
        return
    body = read_json(response)
    if body != {"data": token}:
        got = shown(response.content) if body is NOT_JSON else json_text(body)
        report.add("error", "ping-answer", PATH_PING, expected=expected, got=got)


def check_version(report: Report, response: httpx.Response) -> None:
    """`GET version` answers `{"result": "Ok", "version": "1", "protocol": <PI_API_NAME>}`."""
    expected = (
        f'200 with {{"result": "Ok", "version": "{PROTOCOL_VERSION}", '
        f'"protocol": "{PROTOCOL_NAME}"}}'
    )
    if response.status_code != 200:
        report.add(
            "error", "version-status", PATH_VERSION, expected=expected, got=_status(response)
        )
        return
    body = read_json(response)
    if not isinstance(body, dict):
        got = shown(response.content) if body is NOT_JSON else json_text(body)
        report.add("error", "version-answer", PATH_VERSION, expected=expected, got=got)
        return
    wrong = body.get("result") != "Ok" or body.get("version") != PROTOCOL_VERSION
    if wrong or not isinstance(body.get("protocol"), str):
        report.add("error", "version-answer", PATH_VERSION, expected=expected, got=json_text(body))
    elif body["protocol"] != PROTOCOL_NAME:
        report.add(
            "info",
            "version-protocol-name",
            PATH_VERSION,
            expected=f'"protocol": "{PROTOCOL_NAME}" unless PI_API_NAME says otherwise',
            got=f'"protocol": {json_text(body["protocol"])}: the proxy must expect that name',
        )


def check_reachable(report: Report, ping: httpx.Response, version: httpx.Response) -> bool:
    """Tell whether the protocol paths answer us; a guard's refusal names the setting."""
    if ping.status_code != 404:
        return True
    if version.status_code == 404:
        report.add(
            "error",
            "no-service",
            f"{PATH_PING}, {PATH_VERSION}",
            expected="a PlugIt service at this URL (its PI_BASE_URL included)",
            got="404 to both ping and version: check the URL and the service's PI_BASE_URL",
        )
    else:
        report.add(
            "error",
            "guard-refused",
            PATH_PING,
            expected="the protocol paths answer a proxy on this machine",
            got="404 to ping while version answers: the network guard refuses this address; "
            "add it to the service's PI_ALLOWED_NETWORKS",
        )
    return False


def check_forwarded_for(report: Report, forwarded: httpx.Response) -> None:
    """A forged `X-Forwarded-For` must not change the guard's decision (without PI_USE_PROXY_IP).

    Called once ping has answered our own address: a 404 now means the guard judged the
    header's address instead of ours.
    """
    if forwarded.status_code != 404:
        return
    report.add(
        "warning",
        "guard-forwarded-for",
        f"{PATH_PING} (X-Forwarded-For: {FORWARDED_ADDRESS})",
        expected="the guard judges the caller's own address, unless PI_USE_PROXY_IP is set "
        "behind a reverse proxy you run",
        got="404: the guard judged the address the header names; any client can write it, "
        "so keep PI_USE_PROXY_IP only behind your own reverse proxy",
    )


def _status(response: httpx.Response) -> str:
    return f"{response.status_code} ({shown(response.content)})"
