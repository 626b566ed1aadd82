"""Step 4: the action call of docs/protocol.md §3 — parameters, user fields, headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request as BrowserRequest
from starlette.types import Message, Receive

from plugit import pagerules
from plugit.pagerules import (
    Kind,
    Pairs,
    UserFieldNotAllowed,
    browser_params,
    call_headers,
    data_problem,
    placement,
)
from plugit.protocol import (
    HEADER_BASE_URL,
    HEADER_ORGA_CODOPS,
    HEADER_ORGA_NAME,
    HEADER_ORGA_PK,
    PATH_ACTION,
    Meta,
    user_field_header,
)

from ..upstream import ProtocolViolation, Request, UpstreamAnswer
from .access import visitor
from .shadow import pending_copy
from .state import Page, PageError
from .urls import service_url

__all__ = [
    "answer_json",
    "browser_params",
    "call_action",
    "orga_params",
    "protocol_headers",
    "service_session",
    "user_params",
]

SESSION_PREFIX = "plugit_service_session:"
# Methods whose browser body is not forwarded to the action.
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def as_param(value: Any) -> str:
    """Spell a value for a header (`True`/`False` for booleans, a list on one line)."""
    if isinstance(value, list | tuple):
        return ",".join(as_param(item) for item in value)
    return pagerules.param_value(value)


def user_params(page: Page, meta: Meta) -> Pairs:
    """Give the `ebuio_u_*` and `ebuio_orgapk` parameters; a field not allowed is an error page."""
    allowed = page.project.user_fields
    seen = visitor(page.identity, page.remote_addr, allowed)
    try:
        params = pagerules.user_params(meta, seen, allowed)
    except UserFieldNotAllowed as error:
        raise PageError(
            500,
            "Configuration error",
            f"The service asks for the user field {error.field!r}, which this platform does not "
            f"give to services (allowed: {', '.join(allowed)}).",
        ) from None
    return params + pagerules.orga_params(seen, orga_mode=page.project.orga_mode)


def orga_params(page: Page) -> Pairs:
    """Give `ebuio_orgapk` in organisation mode."""
    seen = visitor(page.identity, page.remote_addr)
    return pagerules.orga_params(seen, orga_mode=page.project.orga_mode)


def service_session(page: Page) -> str:
    return SESSION_PREFIX + page.project.key


async def protocol_headers(page: Page) -> dict[str, str]:
    """Give the headers of section 3: address, forwarded browser headers, the session."""
    stored: Mapping[str, str] = await page.session.get(service_session(page), {}) or {}
    address = page.extras.get("forwarded_for", page.remote_addr)
    return call_headers(address, page.request.headers, stored)


def proxy_mode_headers(page: Page) -> dict[str, str]:
    """Give the user and organisation headers of proxy mode."""
    headers: dict[str, str] = {HEADER_BASE_URL: page.project.mount}
    user = page.identity.user
    if user.is_authenticated:
        for name, value in user.fields(page.project.user_fields).items():
            headers[user_field_header(name)] = header_safe(as_param(value))
    orga = page.identity.orga
    if page.project.orga_mode and orga is not None:
        headers[HEADER_ORGA_PK] = str(orga.pk)
        headers[HEADER_ORGA_NAME] = header_safe(orga.name)
        headers[HEADER_ORGA_CODOPS] = header_safe(orga.codops)
    return headers


def header_safe(value: str) -> str:
    """Keep a header value on one ASCII line (percent-encode anything else)."""
    from urllib.parse import quote

    if value.isascii() and "\r" not in value and "\n" not in value:
        return value
    return quote(value, safe=" !#$&'()*+,/:;=?@[]~")


async def call_action(
    page: Page, meta: Meta, *, route: str | None = None, forward_browser: bool = True
) -> UpstreamAnswer:
    """Call the action of `route` (the page's by default) the way section 3 says."""
    extras = user_params(page, meta)
    method = page.method if forward_browser else "GET"
    query = browser_params(page.request.query_params.multi_items()) if forward_browser else []
    headers = await protocol_headers(page)
    data: Any = None
    if method in BODYLESS_METHODS:
        query += extras
    else:
        data, query = await request_body(page, extras, query, headers)
    upstream = page.runtime.upstream
    base = upstream.pick(page.project)
    url = service_url(base, PATH_ACTION, route or page.route)
    request = Request(
        method=method, url=url, params=query, headers=headers, data=data, stream=True, service=base
    )
    pending = pending_copy(page, request)  # None unless the project has a shadow version
    answer = await upstream.send(request)
    if pending is not None:
        pending.answered(answer)
    return answer


async def request_body(
    page: Page, extras: Pairs, query: list[tuple[str, Any]], headers: dict[str, str]
) -> tuple[Any, list[tuple[str, Any]]]:
    """Forward the browser's form or, for other bodies, the raw bytes; place the extras."""
    content_type = page.request.headers.get("content-type", "")
    form_body = not content_type or content_type.startswith(FORM_TYPES)
    if placement(page.method, form_body=form_body) == "query":
        query, extras = query + extras, []
    if not form_body:
        body = await read_capped(page)
        headers["Content-Type"] = content_type
        return body, query
    form = await read_form(page)
    fields = browser_params(form.multi_items()) + extras
    if not any(isinstance(value, UploadFile) for _, value in fields):
        return [(k, str(v)) for k, v in fields], query
    # Names as they are (UTF-8), not percent-encoded: services read them as browsers send them.
    data = aiohttp.FormData(quote_fields=False)
    for name, value in fields:
        if isinstance(value, UploadFile):
            data.add_field(
                name,
                value.file,
                filename=value.filename or "upload",
                content_type=value.content_type or "application/octet-stream",
            )
        else:
            data.add_field(name, str(value))
    return data, query


async def read_form(page: Page) -> FormData:
    """Parse the browser's form once; the body stays readable for proxy mode."""
    form = page.extras.get("form")
    if isinstance(form, FormData):
        return form
    body = await read_capped(page)
    scope = page.request.scope
    content_type = page.request.headers.get("content-type", "")
    try:
        if content_type.startswith(FORM_TYPES[0]):
            _check_utf8_fields(body)
        form = await BrowserRequest(scope, _replay(body)).form(max_files=1000, max_fields=1000)
    except (MultiPartException, HTTPException, UnicodeDecodeError) as error:
        detail = getattr(error, "message", None) or getattr(error, "detail", None) or "not UTF-8"
        raise PageError(400, "Bad request", f"The form could not be read: {detail}.") from None
    page.extras["form"] = form
    page.request = BrowserRequest(scope, _replay(body))
    return form


async def close_form(page: Page) -> None:
    """Close the uploaded files of a parsed form."""
    form = page.extras.pop("form", None)
    if isinstance(form, FormData):
        await form.close()


def _check_utf8_fields(body: bytes) -> None:
    """Refuse a urlencoded form that is not UTF-8 (raw or percent-encoded): it would be garbled."""
    parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def read_capped(page: Page) -> bytes:
    """Read a non-form request body, refusing more than the upstream limit."""
    limit = page.runtime.config.upstream.max_body
    chunks: list[bytes] = []
    size = 0
    async for chunk in page.request.stream():
        size += len(chunk)
        if size > limit:
            raise PageError(413, "Request too large", f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def answer_json(answer: UpstreamAnswer, kind: Kind = "page") -> Any:
    """Decode an action's JSON answer; one the page rules cannot use is the proxy's 502."""
    data = answer.json()
    problem = data_problem(kind, data)
    if problem is not None:
        raise ProtocolViolation(problem, url=answer.url)
    return data
