"""What a proxy does with one page request (docs/protocol.md §3-4), without any I/O.

`page_flow` is a generator: it yields each request a proxy would make of the service (meta,
action, template), receives the service's answer, and finally returns the `Page` the browser
would get. The blocking and the async client both drive it. The decisions themselves are
`plugit.pagerules`, which the proxy's pipeline uses too: the kit and the proxy cannot drift.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Generator, Mapping, Sequence
from typing import IO, Any, cast

import httpx

from plugit import pagerules
from plugit.exceptions import ConfigurationError
from plugit.pagerules import Outcome, Pairs, Visitor, browser_params, is_reserved
from plugit.protocol import PATH_ACTION, PATH_META, PATH_TEMPLATE, Meta
from plugit.request import MultiDict
from plugit.simulation import Orga, SimulatedUser

# The parameters and uploads a test passes, in the shapes httpx accepts.
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
FileContent = bytes | IO[bytes]
FileSpec = FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]
Files = Mapping[str, FileSpec] | Sequence[tuple[str, FileSpec]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Page:
    """What the proxy would give the browser for one request, and what it sent the service.

    `status_code` is the browser's status: 200; 302 with `redirect`; 403 with `denied_by`
    naming the refusing rule (the action was not called); 404 when the meta call says 4xx,
    for a service status the proxy does not pass through (a service's own 502/503/504
    included), or for a page whose template is missing; 304/401/403/404/429 passed through;
    500; 502, the proxy's own failure, when the meta or template call fails otherwise or
    the action's answer cannot make the page (not JSON, or xml_only without `xml`).
    `answer` is what the proxy made of the action's answer (see
    `plugit.pagerules.read_answer`), None when it was not called.
    `meta`, `data` (the action's JSON), `template` (its text, when the page renders one),
    `session` (what SetSession stored), `is_file`, `content`, `headers` and `etag` come from
    the service; `sent_params` and `sent_headers` are what the simulated proxy sent the action
    (empty when it was not called); `action_status` is the service's own status, or None.
    """

    status_code: int
    denied_by: str | None = None
    answer: Outcome | None = None
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
    if isinstance(meta, int):
        return Page(status_code=meta)
    check_user_info(meta, request.route, request.user_fields)
    seen = visitor(request)
    denied = pagerules.refused_rule(meta, seen, orga_mode=request.orga_mode)
    if denied is not None:
        return Page(status_code=403, denied_by=denied, meta=meta)
    outgoing = action_call(meta, request, seen)
    page = read_answer((yield outgoing), meta, outgoing, request.method)
    if page.status_code == 200 and _renders(page, meta):
        tag = meta.get("template_tag", "")
        if not tag:
            return dataclasses.replace(page, status_code=404)
        page = with_template(page, (yield Outgoing("GET", PATH_TEMPLATE + request.route)))
    return page


def _renders(page: Page, meta: Meta) -> bool:
    """True when the proxy would render the action's template for this answer."""
    plain = page.redirect is None and not page.is_file and page.answer == "data"
    return plain and pagerules.answer_kind(meta) in {"page", "bare"}


# -- Meta and access -------------------------------------------------------------------------------
def read_meta(response: httpx.Response) -> Meta | int:
    """The meta object, or the page's status without one: 404 (no such action) or 502."""
    status = pagerules.fetch_status(response.status_code)
    if status != 200:
        return status
    try:
        meta = response.json()
    except ValueError:
        return 502
    if pagerules.meta_problem(meta) is not None:
        return 502
    return cast(Meta, meta)


def check_user_info(meta: Meta, route: str, allowed: Sequence[str]) -> None:
    """Refuse user fields outside the proxy's allow-list, as a proxy shows a config error."""
    try:
        pagerules.check_user_info(meta, allowed)
    except pagerules.UserFieldNotAllowed as error:
        raise ConfigurationError(
            f"the action {route!r} asks for the user field {error.field!r} with @user_info, "
            f"which the proxy does not give (allowed: {', '.join(allowed)}); remove it, "
            f"or add it to the proxy's PIAPI_USERDATA (user_fields= here)"
        ) from None


def visitor(request: PageRequest) -> Visitor:
    """The simulated user as the page rules see them (orga fields only with an organisation)."""
    in_orga = request.orga_mode and request.orga is not None
    return Visitor(
        authenticated=request.user.is_authenticated,
        fields=request.user.fields(orga_mode=in_orga),
        orga_pk=None if request.orga is None else request.orga.pk,
        address=request.remote_addr,
    )


# -- The action call -------------------------------------------------------------------------------
def action_call(meta: Meta, request: PageRequest, seen: Visitor) -> Outgoing:
    """The action call: the browser's parameters without `ebuio_*`, plus the proxy's own."""
    query = browser_params(_split_query(request.path) + _pairs(request.query))
    form = browser_params(_pairs(request.data))
    added = pagerules.user_params(meta, seen, request.user_fields)
    added += pagerules.orga_params(seen, orga_mode=request.orga_mode)
    if pagerules.placement(request.method) == "form":
        form += added
    else:
        query += added
    files = [(name, spec) for name, spec in _file_pairs(request.files) if not is_reserved(name)]
    session = {key: str(value) for key, value in (request.session or {}).items()}
    headers = pagerules.call_headers(
        request.remote_addr, httpx.Headers(dict(request.headers or {})), session
    )
    return Outgoing(
        request.method,
        PATH_ACTION + request.route,
        params=query,
        data=_grouped(form) if form else None,
        files=files or None,
        headers=headers,
    )


# -- The answer ------------------------------------------------------------------------------------
def read_answer(response: httpx.Response, meta: Meta, sent: Outgoing, method: str) -> Page:
    """What the proxy makes of the action's answer."""
    headers = response.headers
    raw = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]
    decided = pagerules.read_answer(method, response.status_code, headers, raw)
    status, data = decided.status, _json(response)
    if decided.outcome == "data":
        data, problem = _data(response, pagerules.answer_kind(meta))
        status = 502 if problem else status  # the proxy's own failure: no usable answer
    return Page(
        status_code=status,
        answer=decided.outcome,
        meta=meta,
        data=data,
        redirect=decided.redirect,
        redirect_no_prefix=decided.no_prefix,
        session=decided.session,
        is_file=decided.outcome == "file",
        content=response.content,
        headers=headers,
        etag=headers.get("etag"),
        sent_params=MultiDict([*sent.params, *_flat(sent.data)]),
        sent_headers=httpx.Headers(sent.headers),
        action_status=response.status_code,
    )


def _data(response: httpx.Response, kind: pagerules.Kind) -> tuple[Any, str | None]:
    """The action's JSON as the proxy reads it (an empty body is `{}`), and what is wrong."""
    if not response.content.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(response.content)
        except ValueError:
            return None, "the answer is not valid JSON"
    return data, pagerules.data_problem(kind, data)


def with_template(page: Page, response: httpx.Response) -> Page:
    """Attach the template text; a page whose template is missing is a 404."""
    status = pagerules.fetch_status(response.status_code)
    if status == 200:
        return dataclasses.replace(page, template=response.text)
    return dataclasses.replace(page, status_code=status)


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", "") or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


# -- Parameters ------------------------------------------------------------------------------------
def _pairs(params: Params | None) -> Pairs:
    """Name/value pairs; a list or tuple value is a multi-valued field."""
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs: Pairs = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), pagerules.param_value(item)) for item in values)
    return pairs


def _file_pairs(files: Files | None) -> list[tuple[str, FileSpec]]:
    if files is None:
        return []
    return list(files.items()) if isinstance(files, Mapping) else list(files)


def _split_query(path: str) -> Pairs:
    if "?" not in path:
        return []
    return urllib.parse.parse_qsl(path.split("?", 1)[1], keep_blank_values=True)


def _grouped(pairs: Pairs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _flat(grouped: dict[str, list[str]] | None) -> Pairs:
    return [(name, value) for name, values in (grouped or {}).items() for value in values]
