"""The rules for `GET meta<route>` and `GET template<route>` (docs/protocol.md §1)."""

from __future__ import annotations

import hashlib
from typing import cast

import httpx

from plugit import pagerules
from plugit.check.calls import NOT_JSON, json_text, read_json, shown
from plugit.check.findings import Level, Report
from plugit.metarules import (
    META_KEY_TYPES,
    cache_control_max_age,
    meta_key_problems,
    read_expire,
)
from plugit.protocol import DEFAULT_USER_FIELDS, HEADER_META_EXPIRE, NETWORK_RULE, Meta

__all__ = ["EXPIRE_TOLERANCE", "check_meta", "check_missing_route", "check_template"]

# How far `Expire` may stray from the answer's date plus max-age (slow answers, rounding).
EXPIRE_TOLERANCE = 60


def check_meta(report: Report, label: str, response: httpx.Response) -> Meta | None:
    """Check a meta answer: status, JSON, keys and their types, caching headers."""
    if response.status_code != 200:
        status = pagerules.fetch_status(response.status_code)
        meaning = "no action answers this route" if status == 404 else "the proxy's 502 page"
        report.add(
            "error",
            "meta-status",
            label,
            expected="200 with the action's meta object",
            got=f"{response.status_code} ({meaning})",
        )
        return None
    meta = read_json(response)
    if meta is NOT_JSON:
        report.add(
            "error",
            "meta-not-json",
            label,
            expected="a JSON object",
            got=f"{shown(response.content)}, not JSON (the proxy's 502 page)",
        )
        return None
    problem = pagerules.meta_problem(meta)
    if problem is not None:
        got = json_text(meta.get("template_tag")) if isinstance(meta, dict) else json_text(meta)
        report.add(
            "error",
            "meta-template-tag",
            label,
            expected='a JSON object whose "template_tag" is a string (the proxy\'s 502 page '
            "otherwise)",
            got=f"template_tag: {got}" if isinstance(meta, dict) else got,
        )
        return None
    _check_keys(report, label, meta)
    _check_caching(report, label, response)
    return cast(Meta, meta)


def _check_keys(report: Report, label: str, meta: dict[str, object]) -> None:
    for key, needed in meta_key_problems(meta).items():
        report.add(
            "error",
            "meta-key-type",
            label,
            expected=f"{key} is a {needed}",
            got=f"{key}: {json_text(meta[key])}",
        )
    for key in meta:
        if key not in META_KEY_TYPES:
            report.add(
                "warning",
                "meta-unknown-key",
                label,
                expected=f"only the protocol's keys ({', '.join(sorted(META_KEY_TYPES))})",
                got=f"{key}: {json_text(meta[key])}, which a proxy ignores",
            )
    _check_user_info(report, label, cast(Meta, meta))
    networks = meta.get(NETWORK_RULE)
    if isinstance(networks, list):
        for entry in networks:
            if isinstance(entry, str) and not pagerules.meta_networks([entry]):
                report.add(
                    "error",
                    "meta-networks",
                    label,
                    expected=f"{NETWORK_RULE} lists networks in CIDR form, e.g. 10.0.0.0/8",
                    got=f"{json_text(entry)}, which matches no address",
                )


def _check_user_info(report: Report, label: str, meta: Meta) -> None:
    if "user_info" in meta_key_problems(meta):
        return
    try:
        pagerules.check_user_info(meta, DEFAULT_USER_FIELDS)
    except pagerules.UserFieldNotAllowed as error:
        report.add(
            "warning",
            "meta-user-info",
            label,
            expected=f"user_info asks for fields of the default allow-list "
            f"({', '.join(DEFAULT_USER_FIELDS)})",
            got=f"{error.field!r}: a proxy shows a configuration error unless its PIAPI_USERDATA "
            "allows it",
        )


def _check_caching(report: Report, label: str, response: httpx.Response) -> None:
    headers = response.headers
    expire = headers.get(HEADER_META_EXPIRE)
    when = read_expire(expire)
    if when is None:
        near = " (an Expires header instead: the protocol's name has no final s)"
        report.add(
            "error",
            "meta-expire",
            label,
            expected=f"an {HEADER_META_EXPIRE}: <HTTP date> header",
            got=(f"{HEADER_META_EXPIRE}: {expire!r}" if expire else "none")
            + (near if "expires" in headers else ""),
        )
    control = headers.get("cache-control")
    max_age = cache_control_max_age(control)
    if max_age is None or "public" not in (control or "").lower():
        report.add(
            "error",
            "meta-cache-control",
            label,
            expected="Cache-Control: public, max-age=N",
            got=f"Cache-Control: {control!r}" if control else "none",
        )
        return
    sent = read_expire(headers.get("date"))
    if when is not None and sent is not None and abs(when - sent - max_age) > EXPIRE_TOLERANCE:
        report.add(
            "warning",
            "meta-expire-max-age",
            label,
            expected=f"{HEADER_META_EXPIRE} = the answer's Date + max-age ({max_age} s)",
            got=f"{HEADER_META_EXPIRE} {int(when - sent)} s after the Date: the proxy follows "
            f"{HEADER_META_EXPIRE}",
        )


def check_missing_route(report: Report, label: str, response: httpx.Response) -> None:
    """A route no action has: the meta call answers 404 (a 5xx would be a broken service)."""
    status = response.status_code
    if status == 404:
        return
    level: Level = "warning" if 200 <= status < 500 else "error"
    report.add(
        level,
        "meta-unknown-route",
        label,
        expected="404 for a route no action has",
        got=f"{status}" + (" (a route that matches everything?)" if status == 200 else ""),
    )


def check_template(report: Report, label: str, response: httpx.Response, tag: str) -> None:
    """The template's text, whose MD5 is the meta's `template_tag`."""
    if response.status_code != 200:
        report.add(
            "error",
            "template-status",
            label,
            expected=f"200 with the template whose MD5 is {tag}",
            got=f"{response.status_code} (the proxy's 404 page)",
        )
        return
    digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
    if digest != tag:
        report.add(
            "error",
            "template-tag",
            label,
            expected=f"the meta's template_tag {tag!r} is the MD5 of the template's bytes",
            got=f"MD5 {digest}: a proxy keeps showing the template it cached under the old tag",
        )
