"""The pipeline's ASGI entry: open the page (session, user, CSRF), dispatch, answer.

Nothing here goes through Django's middleware; Django is used through its async APIs only.
Every failure becomes a page with the right status, logged with the service and the path.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from plugit.protocol import CSRF_FORM_FIELD

from ..config import Project
from ..csrf import SAFE_METHODS, CsrfState, UnsafeRequest
from ..forwarded import forwarded_client
from ..https import scheme_of, tls_proxy_header
from ..registry.shadowstats import ShadowTally
from ..rendering import TemplateCompileError, TemplateRenderError
from ..requestlog import note_page
from ..upstream import UpstreamError
from .access import LoginRequired
from .action import close_form, read_form
from .errors import error_response, failure_page
from .media import MEDIA_PREFIX, serve_media
from .menu import error_menu
from .page import serve_page
from .proxymode import serve_proxied
from .shadow import ShadowCopier
from .state import Page, PageError, Runtime
from .switchers import SWITCHERS
from .urls import checked_route
from .version import route_version

__all__ = ["PageHandler", "check_visibility"]

logger = logging.getLogger("plugit_proxy.pipeline")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PageHandler:
    """Serve the page requests of one project (an ASGI app for `http` scopes)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tls_proxy = tls_proxy_header()
        upstream = runtime.config.upstream
        self.shadows = ShadowCopier(runtime.upstream, upstream, ShadowTally())

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, project: Project, route: str
    ) -> None:
        note_page(project.key, route)  # for the access log and the metrics
        request = Request(scope, receive)
        page: Page | None = None
        try:
            page = await self.open_page(request, project, route)
            response = await self._dispatch(page)
        except Exception as error:  # every failure is a page, never a traceback
            response = await self._failure(page, project, request, error)
        if page is not None:
            try:
                await self.runtime.sessions.save(page.session, response)
                page.csrf.set_cookie(response)
            except Exception:
                logger.exception(
                    "could not save the session (%s %s)", request.method, request.url.path
                )
        try:
            await response(scope, receive, send)
        finally:
            if page is not None:
                await close_form(page)
                self.shadows.after_answer(page)  # the answer is sent: copies cost it nothing

    async def open_page(self, request: Request, project: Project, route: str) -> Page:
        runtime = self.runtime
        session = runtime.sessions.load(request.cookies)
        identity = await runtime.identities.identify(session, project)
        page = Page(
            runtime=runtime,
            project=project,
            request=request,
            route=route,
            session=session,
            identity=identity,
            csrf=CsrfState.from_cookies(runtime.csrf, request.cookies),
            remote_addr=request.client.host if request.client else "",
        )
        forwarded = request.headers.get("x-forwarded-for")
        if project.honor_x_forwarded_for and forwarded:  # only what trusted proxies wrote
            page.remote_addr = forwarded_client(forwarded, project.trusted_proxies) or (
                page.remote_addr
            )
        return page

    async def _dispatch(self, page: Page) -> Response:
        checked_route(page.route)
        if page.project.requires_https and scheme_of(page.request, self.tls_proxy) != "https":
            return RedirectResponse(str(page.request.url.replace(scheme="https")), 301)
        check_visibility(page)
        await route_version(page)
        if page.method not in SAFE_METHODS:  # before the switchers: one of them takes POSTs
            await self._check_csrf(page)
        switcher = SWITCHERS.get(page.route)
        if switcher is not None:
            return await switcher(page)
        if page.route.startswith(MEDIA_PREFIX):
            return await serve_media(page)
        if page.project.proxy_mode:
            return await serve_proxied(page)
        return await serve_page(page)

    async def _check_csrf(self, page: Page) -> None:
        request = page.request
        sent: str | None = None
        content_type = request.headers.get("content-type", "")
        # The form's field first, as Django; unlike Django (POST only), for every unsafe
        # method with a form body: the protocol lets scripts PUT forms with their token.
        if content_type.startswith(FORM_TYPES):
            value = (await read_form(page)).get(CSRF_FORM_FIELD, "")
            sent = value if isinstance(value, str) and value else None
        if sent is None:
            sent = request.headers.get(page.runtime.csrf.header_name)
        secure = scheme_of(request, self.tls_proxy) == "https"
        server = request.scope.get("server") or ("", None)  # Django's SERVER_PORT
        reason = page.csrf.check(
            sent,
            UnsafeRequest(
                origin=request.headers.get("origin"),
                referer=request.headers.get("referer"),
                host=request.url.netloc,
                port=str(server[1] or (443 if secure else 80)),
                secure=secure,
            ),
        )
        if reason is not None:
            logger.warning("CSRF refusal on %s %s: %s", page.method, request.url.path, reason)
            raise PageError(403, "Forbidden", f"CSRF verification failed: {reason}.")

    async def _failure(
        self, page: Page | None, project: Project, request: Request, error: Exception
    ) -> Response:
        kind = page.extras.get("kind", "page") if page is not None else "page"
        where = f"{request.method} {request.url.path} (service {project.service_urls[0]})"
        match error:
            case LoginRequired():
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                target = f"{error.login_url}?{urlencode({'next': here})}"
                return RedirectResponse(target, status_code=302)
            case PageError():
                problem = error
            case UpstreamError():
                logger.error("upstream failure on %s: %s", where, error)
                problem = failure_page(self.runtime, error)
            case ClientDisconnect():  # gone, or refused by the body limits (bodylimit.py)
                logger.info("the client's body did not arrive on %s", where)
                problem = PageError(400, "Bad request", "The request body did not arrive.")
            case TemplateCompileError() | TemplateRenderError():
                logger.error("template failure on %s: %s", where, error)
                problem = failure_page(self.runtime, error)
            case _:
                logger.exception("unexpected failure on %s", where)
                problem = PageError(500, "Proxy error", "The proxy failed to build this page.")
        menu = ""
        if page is not None and kind == "page" and problem.status != 304:
            menu = await error_menu(page, error)  # the failed page's own, when it has one
        try:
            return error_response(
                self.runtime, page, problem, kind=kind, layout=project.layout, menu=menu
            )
        except Exception:
            logger.exception("could not render the error page for %s", where)
            return Response(f"{problem.status} {problem.title}", status_code=problem.status)


def check_visibility(page: Page) -> None:
    """Apply the project's visibility (`public`: each page's own rules decide)."""
    visibility = page.project.visibility
    if visibility == "public":
        return
    identity = page.identity
    if not identity.user.is_authenticated:
        if identity.login_url:
            raise LoginRequired(identity.login_url, "only_logged_user")
        raise PageError(403, "Access denied", "You must be signed in to open this project.")
    if visibility != "signed_in" and not identity.user.ebuio_member:
        raise PageError(403, "Access denied", "Only members of this project may open it.")
