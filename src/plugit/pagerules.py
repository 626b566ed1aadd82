"""The rules a proxy applies to a page request (docs/protocol.md §3-4), as pure functions.

The proxy's pipeline (`plugit_proxy.pipeline`) and the test kit's simulated proxy
(`plugit.testing`) both decide with these, so a service tested with the kit meets the very
rules it meets behind a proxy. No Django and no I/O here: the callers fetch, these decide.
"""

from __future__ import annotations

import dataclasses
import functools
import http.cookies
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

from plugit.exceptions import ConfigurationError
from plugit.guard import address_allowed
from plugit.protocol import (
    ACCESS_RULES,
    FORWARDED_BROWSER_HEADERS,
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_REMOTE_ADDR,
    HEADER_SET_SESSION_PREFIX,
    NETWORK_RULE,
    ORGA_PK_PARAM,
    PASS_THROUGH_STATUSES,
    PASSED_ANSWER_HEADERS,
    RESERVED_PARAM_PREFIX,
    USER_PARAM_PREFIX,
    AccessRule,
    Meta,
    decode_bool,
    encode_bool,
    session_header,
)
from plugit.settings import Network

__all__ = [
    "ORGA_RULE",
    "ActionAnswer",
    "Kind",
    "Outcome",
    "Pairs",
    "Placement",
    "UserFieldNotAllowed",
    "Visitor",
    "accessible_rules",
    "answer_kind",
    "browser_params",
    "browser_status",
    "call_headers",
    "check_user_info",
    "data_problem",
    "fetch_status",
    "is_file",
    "is_reserved",
    "meta_problem",
    "orga_params",
    "param_value",
    "passed_headers",
    "placement",
    "read_answer",
    "redirect_location",
    "refused_rule",
    "restricted",
    "set_session_values",
    "user_params",
]

Pairs = list[tuple[str, str]]
T = TypeVar("T")

# -- Access (§4 step 2) ----------------------------------------------------------------------------
# The refusal named when organisation mode has no current organisation and the page is not public.
ORGA_RULE: Final = "organisation"

# The user field each only_* rule reads (None: being signed in is enough).
_RULE_FLAGS: Final[Mapping[AccessRule, str | None]] = {
    "only_logged_user": None,
    "only_member_user": "ebuio_member",
    "only_admin_user": "ebuio_admin",
    "only_orga_member_user": "ebuio_orga_member",
    "only_orga_admin_user": "ebuio_orga_admin",
}
_ORGA_RULES: Final = frozenset({"only_orga_member_user", "only_orga_admin_user"})
# The boolean user fields; a visitor without one (the anonymous user) has it False.
USER_FLAGS: Final = frozenset(flag for flag in _RULE_FLAGS.values() if flag is not None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Visitor:
    """Who asks for a page: their user fields (none when anonymous), organisation, address."""

    authenticated: bool
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    orga_pk: int | None = None  # the current organisation, when one is chosen
    address: str = ""

    def value(self, name: str) -> Any:
        """Give a user field's value: None when unknown, False for a flag the user lacks."""
        value = self.fields.get(name)
        if value is None and name in USER_FLAGS:
            return False
        return value


def accessible_rules(meta: Meta) -> list[AccessRule]:
    """List the only_* rules a meta object sets, in the order they are checked."""
    return [rule for rule in ACCESS_RULES if meta.get(rule)]


def restricted(meta: Meta) -> bool:
    """Tell whether some only_* rule limits the page to some users."""
    return any(meta.get(rule) for rule in ACCESS_RULES)


def refused_rule(meta: Meta, visitor: Visitor, *, orga_mode: bool) -> str | None:
    """Name the first rule that refuses the page to `visitor`, or None when it may be shown."""
    for rule in accessible_rules(meta):
        if not _granted(rule, visitor, orga_mode):
            return rule
    networks = meta.get(NETWORK_RULE)
    if networks is not None and not address_allowed(visitor.address, meta_networks(networks)):
        return NETWORK_RULE
    if orga_mode and visitor.orga_pk is None and not meta.get("public"):
        return ORGA_RULE
    return None


def _granted(rule: AccessRule, visitor: Visitor, orga_mode: bool) -> bool:
    if not visitor.authenticated:
        return False
    if rule in _ORGA_RULES and not (orga_mode and visitor.orga_pk is not None):
        return False  # no current organisation to be a member of
    flag = _RULE_FLAGS[rule]
    return flag is None or bool(visitor.value(flag))


def meta_networks(networks: Sequence[str] | str) -> tuple[Network, ...]:
    """Parse a meta's `address_in_networks`; an entry that is no network matches nothing."""
    return _parse_networks((networks,) if isinstance(networks, str) else tuple(networks))


@functools.lru_cache(maxsize=256)
def _parse_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    parsed: list[Network] = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError:
            continue
    return tuple(parsed)


# -- Parameters (§3) -------------------------------------------------------------------------------
Placement = Literal["query", "form"]


class UserFieldNotAllowed(ConfigurationError):
    """The meta's `user_info` asks for a user field outside the proxy's allow-list."""

    def __init__(self, field: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"the service asks for the user field {field!r}, which this proxy does not give "
            f"to services (allowed: {', '.join(allowed)})"
        )
        self.field = field
        self.allowed = tuple(allowed)


def check_user_info(meta: Meta, allowed: Sequence[str]) -> None:
    """Refuse a `user_info` field outside `allowed` (a configuration error, never a leak)."""
    for name in meta.get("user_info") or ():
        if name not in allowed:
            raise UserFieldNotAllowed(name, allowed)


def user_params(meta: Meta, visitor: Visitor, allowed: Sequence[str]) -> Pairs:
    """Give one `ebuio_u_<field>` per field `user_info` asks for (a list: one per item)."""
    check_user_info(meta, allowed)
    params: Pairs = []
    for name in meta.get("user_info") or ():
        value = visitor.value(name)
        items = value if isinstance(value, list | tuple) else (value,)
        params.extend((USER_PARAM_PREFIX + name, param_value(item)) for item in items)
    return params


def orga_params(visitor: Visitor, *, orga_mode: bool) -> Pairs:
    """Give `ebuio_orgapk` in organisation mode, when an organisation is chosen."""
    if orga_mode and visitor.orga_pk is not None:
        return [(ORGA_PK_PARAM, str(visitor.orga_pk))]
    return []


def param_value(value: Any) -> str:
    """Spell a value the way the protocol carries it: booleans `True`/`False`, None empty."""
    if isinstance(value, bool):
        return encode_bool(value)
    return "" if value is None else str(value)


def placement(method: str, *, form_body: bool = True) -> Placement:
    """Say where the proxy's parameters go: the form of a POST, the query string otherwise.

    docs/protocol.md §3: the form on a POST, the query string on a GET; like the original,
    every other method (PUT, PATCH, DELETE, ...) takes them in the query string, and so does
    a POST whose body is not a form (JSON, say): there is no form to add them to.
    """
    return "form" if method.upper() == "POST" and form_body else "query"


def is_reserved(name: str) -> bool:
    """Tell whether a parameter name is one a browser may never set (`ebuio_*`)."""
    return name.startswith(RESERVED_PARAM_PREFIX)


def browser_params(items: Iterable[tuple[str, T]]) -> list[tuple[str, T]]:
    """Drop the parameters a browser may never set (`ebuio_*`)."""
    return [(name, value) for name, value in items if not is_reserved(name)]


# -- Headers (§3) ----------------------------------------------------------------------------------
def call_headers(
    address: str, browser: Mapping[str, str], session: Mapping[str, str]
) -> dict[str, str]:
    """Give the action call's headers: the browser's address, its renamed headers, the session.

    `browser` must look names up case-insensitively (Starlette's or httpx's `Headers`).
    Only the headers docs/protocol.md §3 lists reach the service; nothing else of the browser's.
    """
    headers = {HEADER_REMOTE_ADDR: address}
    for name, renamed in FORWARDED_BROWSER_HEADERS.items():
        value = browser.get(name)
        if value is not None:
            headers[renamed] = value
    for key, value in session.items():
        headers[session_header(key)] = value
    if session:
        headers["Cookie"] = session_cookie(session)
    return headers


def session_cookie(session: Mapping[str, str]) -> str:
    """Give the `Cookie` header for the session: `key=value; ...`, quoted where needed."""
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    for key, value in session.items():
        try:
            jar[key] = str(value)
        except http.cookies.CookieError:
            continue  # not a cookie name; the service still has the X-Plugitsession header
    return "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in jar.values())


# -- The action's answer (§4 step 4) ---------------------------------------------------------------
Kind = Literal["json", "xml", "bare", "page"]
Outcome = Literal["error", "not_modified", "redirect", "file", "options", "data"]


def answer_kind(meta: Meta) -> Kind:
    """Tell how the page answers: `json`, `xml`, `bare` (no layout) or `page`."""
    if meta.get("json_only"):
        return "json"
    if meta.get("xml_only"):
        return "xml"
    if meta.get("no_template"):
        return "bare"
    return "page"


def browser_status(status: int) -> int:
    """Map the action's status to the browser's (§4): 500 and the pass-through set stay.

    Any other non-200 status, a service's own 502, 503 or 504 included, is a 404. The
    proxy's own failures to reach a service (refused, timed out, circuit open) are not
    answers and never come here: they are the proxy's 502, 504 and 503 pages.
    """
    if status == 200 or status == 500 or status in PASS_THROUGH_STATUSES:
        return status
    return 404


@dataclasses.dataclass(frozen=True, kw_only=True)
class ActionAnswer:
    """What the proxy makes of the action's answer, before any rendering."""

    outcome: Outcome
    status: int  # the browser's status
    redirect: str | None = None  # the service's target, for `redirect`
    no_prefix: bool = False  # the target is used as is, not below the mount
    session: dict[str, str] = dataclasses.field(default_factory=dict)  # to store
    passed: dict[str, str] = dataclasses.field(default_factory=dict)  # ETag and CORS


def read_answer(
    method: str,
    status: int,
    headers: Mapping[str, str],
    raw: Iterable[tuple[str, str]] | None = None,
) -> ActionAnswer:
    """Classify the action's answer: error, not modified, redirect, file, OPTIONS, or data.

    `headers` must look names up case-insensitively; `raw`, the header lines as sent, keeps
    the case of session keys when `headers` does not. The session values and the passed
    headers count whatever the outcome (a 304 keeps its ETag).
    """
    common: dict[str, Any] = {
        "session": set_session_values(headers.items() if raw is None else raw),
        "passed": passed_headers(headers),
    }
    mapped = browser_status(status)
    if mapped == 304:
        return ActionAnswer(outcome="not_modified", status=304, **common)
    if mapped != 200:
        return ActionAnswer(outcome="error", status=mapped, **common)
    target = headers.get(HEADER_REDIRECT)
    if target is not None:
        no_prefix = decode_bool(headers.get(HEADER_REDIRECT_NO_PREFIX))
        return ActionAnswer(
            outcome="redirect", status=302, redirect=target, no_prefix=no_prefix, **common
        )
    if is_file(headers):
        return ActionAnswer(outcome="file", status=200, **common)
    if method.upper() == "OPTIONS":
        return ActionAnswer(outcome="options", status=200, **common)
    return ActionAnswer(outcome="data", status=200, **common)


def passed_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Give the ETag and CORS headers of an answer, which the browser must see."""
    return {name: headers[name] for name in PASSED_ANSWER_HEADERS if name in headers}


def is_file(headers: Mapping[str, str]) -> bool:
    """Tell whether an answer is a file: `EbuIo-PlugIt-ItAFile` is there (whatever its value)."""
    return HEADER_IS_FILE in headers


def set_session_values(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collect the `EbuIo-PlugIt-SetSession-<key>` values (the key keeps its case)."""
    prefix = HEADER_SET_SESSION_PREFIX.lower()
    return {
        name[len(prefix) :]: value
        for name, value in headers
        if name.lower().startswith(prefix) and len(name) > len(prefix)
    }


def redirect_location(mount: str, target: str, *, no_prefix: bool) -> str:
    """Give a redirect's location: below the mount, or the target as is with NoPrefix."""
    return target if no_prefix else mount + target.lstrip("/")


def data_problem(kind: Kind, data: object) -> str | None:
    """Say why the action's JSON cannot make the page (the proxy's own 502), or None."""
    if not isinstance(data, dict | list):
        return "the action's answer is not a JSON object"
    if kind == "xml" and not (isinstance(data, dict) and isinstance(data.get("xml"), str)):
        return "the action's answer has no xml text"
    return None


def fetch_status(status: int) -> int:
    """Map the status of `GET meta<route>` or `GET template<route>` to the page's.

    200 is found; a 4xx means "no such page" (404); anything else is a broken service, the
    proxy's own 502 (docs/protocol.md, "A broken meta or template call is not not found").
    A page whose meta has no `template_tag` has no template: a 404 without any call.
    """
    if status == 200:
        return 200
    return 404 if 400 <= status < 500 else 502


def meta_problem(meta: object) -> str | None:
    """Say why a meta answer is not a meta object (the proxy's own 502), or None."""
    if not isinstance(meta, dict) or not isinstance(meta.get("template_tag"), str):
        return "the meta has no template_tag"
    return None
