"""What a proxy does with one page request (PROTOCOL.md §3-4), without any I/O.

`page_flow` is a generator: it yields each request a proxy would make of the service (meta,
action, template), receives the service's answer, and finally returns the `Page` the browser
would get. The blocking and the async client both drive it, so the rules live here once.
"""

from __future__ import annotations

import dataclasses
import http.cookies
import urllib.parse
from collections.abc import Generator, Mapping, Sequence
from typing import IO, Any, cast

import httpx

from plugit.actions import accessible_rules
from plugit.exceptions import ConfigurationError
from plugit.guard import address_allowed
from plugit.protocol import (
    FORWARDED_BROWSER_HEADERS,
    HEADER_IS_FILE,
    HEADER_REDIRECT,
    HEADER_REDIRECT_NO_PREFIX,
    HEADER_REMOTE_ADDR,
    HEADER_SET_SESSION_PREFIX,
    NETWORK_RULE,
    ORGA_PK_PARAM,
    PASS_THROUGH_STATUSES,
    PATH_ACTION,
    PATH_META,
    PATH_TEMPLATE,
    RESERVED_PARAM_PREFIX,
    USER_PARAM_PREFIX,
    Meta,
    decode_bool,
    encode_bool,
    session_header,
)
from plugit.request import MultiDict
from plugit.settings import parse_networks
from plugit.simulation import Orga, SimulatedUser

# The parameters and uploads a test passes, in the shapes httpx accepts.
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
FileContent = bytes | IO[bytes]
FileSpec = FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]
Files = Mapping[str, FileSpec] | Sequence[tuple[str, FileSpec]]
Pairs = list[tuple[str, str]]

# The rule named in `Page.denied_by` when organisation mode has no organisation.
ORGA_RULE = "orga"
_PROXY_HEADER_PREFIX = "x-plugit"
_RENAMED = {name.lower(): renamed for name, renamed in FORWARDED_BROWSER_HEADERS.items()}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Page:
    """What the proxy would give the browser for one request, and what it sent the service.

    `status_code` is the browser's status: 200; 302 with `redirect`; 403 with `denied_by`
    naming the refusing rule (the action was not called); 404 without meta, or for a service
    status the proxy does not pass through; 304/401/403/404/429 passed through; 500.
    `meta`, `data` (the action's JSON), `template` (its text, when the page renders one),
    `session` (what SetSession stored), `is_file`, `content`, `headers` and `etag` come from
    the service; `sent_params` and `sent_headers` are what the simulated proxy sent the action
    (empty when it was not called); `action_status` is the service's own status, or None.
    """

    status_code: int
    denied_by: str | None = None
    meta: Meta | None = None
    data: Any = None
    template: str | None = None
    redirect: str | None = None
    redirect_no_prefix: bool = False
    session: dict[str, str] = dataclasses.field(default_factory=dict)
    is_file: bool = False
    content: bytes = b""
    headers: httpx.Headers = dataclasses.field(default_factory=httpx.Headers)
    etag: str | None = None
    sent_params: MultiDict[str] = dataclasses.field(default_factory=MultiDict)
    sent_headers: httpx.Headers = dataclasses.field(default_factory=httpx.Headers)
    action_status: int | None = None  # the service's own status; None when not called

    @property
    def called(self) -> bool:
        """True when the action was called (the access rules let the request through)."""
        return self.action_status is not None

    @property
    def text(self) -> str:
        """The action's answer as text."""
        return self.content.decode("utf-8", errors="replace")


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One request the proxy makes of the service, relative to the service's base URL."""

    method: str
    path: str
    params: Pairs = dataclasses.field(default_factory=list)
    data: dict[str, list[str]] | None = None
    files: list[tuple[str, FileSpec]] | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PageRequest:
    """A browser's request, as the test describes it, and who makes it."""

    method: str
    path: str
    user: SimulatedUser
    orga: Orga | None
    orga_mode: bool
    remote_addr: str
    user_fields: Sequence[str]
    query: Params | None = None
    data: Params | None = None
    files: Files | None = None
    session: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None

    @property
    def route(self) -> str:
        """The action's route: the path without its query string, with a leading slash."""
        route = self.path.split("?", 1)[0]
        return route if route.startswith("/") else "/" + route


Flow = Generator[Outgoing, httpx.Response, Page]


def page_flow(request: PageRequest) -> Flow:
    """Meta, access rules, action, template: yield each service call, return the page."""
    meta = read_meta((yield Outgoing("GET", PATH_META + request.route)))
    if meta is None:
        return Page(status_code=404)
    check_user_info(meta, request.route, request.user_fields)
    denied = refusal(meta, request)
    if denied is not None:
        return Page(status_code=403, denied_by=denied, meta=meta)
    outgoing = action_call(meta, request)
    page = read_answer((yield outgoing), meta, outgoing)
    if _renders(page, meta):
        page = with_template(page, (yield Outgoing("GET", PATH_TEMPLATE + request.route)))
    return page


def _renders(page: Page, meta: Meta) -> bool:
    """True when the proxy would render the action's template for this answer."""
    plain = page.status_code == 200 and page.redirect is None and not page.is_file
    return plain and bool(meta.get("template_tag"))


# -- Meta and access -------------------------------------------------------------------------------
def read_meta(response: httpx.Response) -> Meta | None:
    """The meta object, or None when the service has none (error status or not a JSON object)."""
    if response.status_code != 200:
        return None
    try:
        meta = response.json()
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    meta.setdefault("template_tag", "")
    return cast(Meta, meta)


def check_user_info(meta: Meta, route: str, allowed: Sequence[str]) -> None:
    """Refuse user fields outside the proxy's allow-list, as a proxy shows a config error."""
    for field in meta.get("user_info", []):
        if field not in allowed:
            raise ConfigurationError(
                f"the action {route!r} asks for the user field {field!r} with @user_info, "
                f"which the proxy does not give (allowed: {', '.join(allowed)}); remove it, "
                f"or add it to the proxy's PIAPI_USERDATA (user_fields= here)"
            )


def refusal(meta: Meta, request: PageRequest) -> str | None:
    """The first access rule the request fails, or None when the page may be shown."""
    fields = request.user.fields(orga_mode=request.orga_mode)
    in_orga = request.orga_mode and request.orga is not None
    granted = {
        "only_logged_user": request.user.is_authenticated,
        "only_member_user": bool(fields.get("ebuio_member")),
        "only_admin_user": bool(fields.get("ebuio_admin")),
        "only_orga_member_user": in_orga and bool(fields.get("ebuio_orga_member")),
        "only_orga_admin_user": in_orga and bool(fields.get("ebuio_orga_admin")),
    }
    for rule in accessible_rules(meta):
        if not granted[rule]:
            return rule
    networks = meta.get("address_in_networks")
    if networks is not None and not address_allowed(request.remote_addr, parse_networks(networks)):
        return NETWORK_RULE
    if request.orga_mode and request.orga is None and not meta.get("public"):
        return ORGA_RULE
    return None


# -- The action call -------------------------------------------------------------------------------
def action_call(meta: Meta, request: PageRequest) -> Outgoing:
    """The action call: the browser's parameters without `ebuio_*`, plus the proxy's own."""
    query = _public(_split_query(request.path) + _pairs(request.query))
    form = _public(_pairs(request.data))
    added = _user_params(meta, request) + _orga_params(request)
    if request.method == "POST":
        form += added
    else:
        query += added
    files = [(name, spec) for name, spec in _file_pairs(request.files) if _allowed_name(name)]
    return Outgoing(
        request.method,
        PATH_ACTION + request.route,
        params=query,
        data=_grouped(form) if form else None,
        files=files or None,
        headers=_headers(request),
    )


def _user_params(meta: Meta, request: PageRequest) -> Pairs:
    fields = request.user.fields(orga_mode=request.orga_mode)
    return [
        (USER_PARAM_PREFIX + name, _encode(fields[name]))
        for name in meta.get("user_info", [])
        if name in fields
    ]


def _orga_params(request: PageRequest) -> Pairs:
    if request.orga_mode and request.orga is not None:
        return [(ORGA_PK_PARAM, str(request.orga.pk))]
    return []


def _headers(request: PageRequest) -> dict[str, str]:
    """Browser headers (renamed as the proxy forwards them), then the proxy's own."""
    headers: dict[str, str] = {}
    for name, value in (request.headers or {}).items():
        if name.lower().startswith(_PROXY_HEADER_PREFIX) or name.lower() == "cookie":
            continue  # a browser cannot set what the proxy sets
        headers[_RENAMED.get(name.lower(), name)] = value
    headers[HEADER_REMOTE_ADDR] = request.remote_addr
    session = dict(request.session or {})
    for key, value in session.items():
        headers[session_header(key)] = str(value)
    if session:
        headers["Cookie"] = _cookie_header(session)
    return headers


def _cookie_header(session: Mapping[str, str]) -> str:
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    for key, value in session.items():
        jar[key] = str(value)
    return "; ".join(f"{morsel.key}={morsel.coded_value}" for morsel in jar.values())


# -- The answer ------------------------------------------------------------------------------------
def read_answer(response: httpx.Response, meta: Meta, sent: Outgoing) -> Page:
    """What the proxy makes of the action's answer."""
    headers = response.headers
    redirect = headers.get(HEADER_REDIRECT)
    is_file = HEADER_IS_FILE in headers
    return Page(
        status_code=_browser_status(response.status_code, redirect),
        meta=meta,
        data=None if is_file else _json(response),
        redirect=redirect,
        redirect_no_prefix=decode_bool(headers.get(HEADER_REDIRECT_NO_PREFIX)),
        session=_session(response),
        is_file=is_file,
        content=response.content,
        headers=headers,
        etag=headers.get("etag"),
        sent_params=MultiDict([*sent.params, *_flat(sent.data)]),
        sent_headers=httpx.Headers(sent.headers),
        action_status=response.status_code,
    )


def _browser_status(status: int, redirect: str | None) -> int:
    """500 stays 500, 304/401/403/404/429 pass through, any other non-200 is a 404."""
    if status == 500 or status in PASS_THROUGH_STATUSES:
        return status
    if status != 200:
        return 404
    return 302 if redirect is not None else 200


def with_template(page: Page, response: httpx.Response) -> Page:
    """Attach the template text; a page that needs one and has none is a 404."""
    if response.status_code == 200:
        return dataclasses.replace(page, template=response.text)
    if page.meta is not None and (page.meta.get("json_only") or page.meta.get("xml_only")):
        return page  # the proxy does not render these
    return dataclasses.replace(page, status_code=404)


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", "") or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _session(response: httpx.Response) -> dict[str, str]:
    prefix = HEADER_SET_SESSION_PREFIX.lower().encode("latin-1")
    return {
        name[len(prefix) :].decode("latin-1"): value.decode("latin-1")
        for name, value in response.headers.raw
        if name.lower().startswith(prefix)
    }


# -- Parameters ------------------------------------------------------------------------------------
def _pairs(params: Params | None) -> Pairs:
    """Name/value pairs; a list or tuple value is a multi-valued field."""
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs: Pairs = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), _encode(item)) for item in values)
    return pairs


def _file_pairs(files: Files | None) -> list[tuple[str, FileSpec]]:
    if files is None:
        return []
    return list(files.items()) if isinstance(files, Mapping) else list(files)


def _split_query(path: str) -> Pairs:
    if "?" not in path:
        return []
    return urllib.parse.parse_qsl(path.split("?", 1)[1], keep_blank_values=True)


def _allowed_name(name: str) -> bool:
    return not name.startswith(RESERVED_PARAM_PREFIX)


def _public(pairs: Pairs) -> Pairs:
    """Drop the parameters a browser may never set (`ebuio_*`)."""
    return [(name, value) for name, value in pairs if _allowed_name(name)]


def _grouped(pairs: Pairs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _flat(grouped: dict[str, list[str]] | None) -> Pairs:
    return [(name, value) for name, values in (grouped or {}).items() for value in values]


def _encode(value: Any) -> str:
    """A parameter value as the proxy sends it; booleans as `True`/`False`."""
    if isinstance(value, bool):
        return encode_bool(value)
    return "" if value is None else str(value)
