"""A page request in the standard mode: steps 1 to 7 of docs/protocol.md §4."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from plugit.pagerules import answer_kind
from plugit.protocol import Meta

from ..config import UpstreamConfig
from ..upstream import (
    ServiceFailed,
    UpstreamAnswer,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .access import check_access
from .action import answer_json, call_action, user_params
from .answer import decide, immediate_response, save_session
from .menu import keep_for_errors, menu_block, with_menu
from .meta import get_meta
from .pagecache import (
    cached_page,
    count_lookup,
    page_cache_key,
    stale_headers,
    stale_page,
    store_page,
)
from .render import csrf_marker, finish_html, render_action, use_csrf_marker
from .state import Page
from .template import get_template

__all__ = ["answer_kind", "serve_page"]


async def serve_page(page: Page) -> Response:
    """Answer a page request from the meta, the cache, the action and the template."""
    runtime = page.runtime
    meta = await get_meta(runtime, page.project, page.route)
    kind = page.extras["kind"] = answer_kind(meta)
    check_access(meta, page.identity, page.remote_addr, page.project.orga_mode)
    keep_for_errors(page, meta)  # its error page may show its menu now
    user_params(page, meta)  # a configuration error shows before anything is called
    key = await page_cache_key(page, meta) if kind in {"page", "bare"} else None
    cached = await cached_page(page, key)
    count_lookup(page, key, cached)
    if cached is not None:
        body, marker = cached
        use_csrf_marker(page, marker)
        return _html(page, body, stale_headers(page))
    try:
        response, data, headers = await _run_action(page, meta)
    except (UpstreamUnavailable, UpstreamTimeout):
        stale = stale_page(page)  # stale-if-error: the expired render, marked
        if stale is None:
            raise
        use_csrf_marker(page, stale[1])
        return _html(page, stale[0], stale_headers(page))
    if response is not None:
        return response
    template = await get_template(runtime, page.project, page.route, meta["template_tag"])
    keep_for_errors(page, meta, template)
    # A page without the layout (no_template) has no side menu.
    side_block = menu_block(page) if kind == "page" else None
    rendered = await render_action(page, template, data, side_block=side_block)
    body = with_menu(page, rendered)  # the menu is cached with its page: same context
    await store_page(page, key, meta, body, csrf_marker(page))
    return _html(page, body, headers)


def _html(page: Page, body: str, headers: dict[str, str]) -> Response:
    html = finish_html(page.runtime, page, body, layout=page.project.layout)
    return Response(html, media_type="text/html", headers=headers)


async def _run_action(page: Page, meta: Meta) -> tuple[Response | None, Any, dict[str, str]]:
    """Call the action; answer at once for every kind of answer that is not a render."""
    limits = page.runtime.config.upstream
    answer = await call_action(page, meta)
    try:
        decided = decide(page, answer)
        await save_session(page, decided.session)
        if decided.outcome == "error":
            await _check_failure(answer, decided.status, limits)
        headers = decided.passed
        response = immediate_response(page, decided, answer)
        if response is not None:
            return response, None, headers
        await answer.buffer(limits.max_body, limits.timeout)
    except BaseException:
        answer.close()
        raise
    # A HEAD answer has no body to judge (the SDK answers HEAD wherever GET is, bodiless).
    data = answer.json() if page.method == "HEAD" else answer_json(answer, answer_kind(meta))
    return _data_response(page, meta, data, answer.body, headers), data, headers


async def _check_failure(answer: UpstreamAnswer, status: int, limits: UpstreamConfig) -> None:
    """Raise what the service said of its failure: the guard's refusal, a DEBUG traceback."""
    refused = answer.guard_refusal()
    if refused is not None:
        raise refused
    if status != 500:
        return
    try:
        await answer.buffer(limits.max_body, limits.timeout)
    except UpstreamError:
        return  # no account of it: the plain 500 page
    detail = answer.traceback()
    if detail:
        last = detail.strip().splitlines()[-1]
        raise ServiceFailed(f"the action failed: {last}", url=answer.url, detail=detail)


def _data_response(
    page: Page, meta: Meta, data: Any, raw: bytes, headers: dict[str, str]
) -> Response | None:
    if meta.get("json_only"):
        media_type = "application/json" if page.wants_json() else "text/plain"
        return Response(raw or b"{}", media_type=media_type, headers=headers)
    if meta.get("xml_only"):  # answer_json made sure the xml text is there (HEAD: none)
        xml = "" if page.method == "HEAD" else data["xml"]
        return Response(xml, media_type="application/xml", headers=headers)
    return None
