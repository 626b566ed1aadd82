"""The service side of the protocol: ping, version, mail, meta, template, action, media."""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import logging
import os
import time
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio
import starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from plugit.exceptions import http_description, http_status
from plugit.guard import caller_address
from plugit.interceptors import ActionCall, Handler
from plugit.protocol import (
    ERROR_TRACEBACK_KEY,
    HEADER_META_EXPIRE,
    HEADER_REQUEST_ID,
    HEADER_TEMPLATE_FILE,
    PROTOCOL_VERSION,
)
from plugit.registry import ActionRegistry
from plugit.request import Request, read_request
from plugit.requestid import done_serving, serving_request
from plugit.responses import json_response, to_response
from plugit.settings import Settings
from plugit.templates import TemplateStore

__all__ = ["NOT_FOUND", "Endpoints", "MailCallback", "MediaFiles"]


MailCallback = Callable[..., Any]

log = logging.getLogger("plugit.service")


def error_response(status_code: int, message: str = "") -> Response:
    """A short JSON error (no body for 304, which may not carry one)."""
    if status_code == 304:
        return Response(status_code=304)
    return json_response({"result": "Error", "error": message or "error"}, status_code)


NOT_FOUND = Response("Not Found", 404, media_type="text/plain")
# The end of a traceback a DEBUG service sends with a 500 (the proxy reads 10 MiB at most).
MAX_TRACEBACK = 64 * 1024


def failure_response(
    error: Exception, what: str, where: str = "", *, debug: bool = False
) -> Response:
    """Answer an exception: its HTTP status when it carries one (see `http_status`), else 500.

    Call it inside the `except` block: a 500 logs the traceback (with `where`). Only with
    `debug` (the service's DEBUG) does the 500 also carry it, under `traceback`: the guard
    lets no caller but an allowed proxy reach this far (docs/protocol.md, optional extensions).
    """
    status = http_status(error)
    if status is None:
        log.exception("%s failed %s", what, where)
        body = {"result": "Error", "error": f"{what} failed; see the service's log"}
        if debug:
            body[ERROR_TRACEBACK_KEY] = _tail(action_traceback(error), MAX_TRACEBACK)
        return json_response(body, 500)
    log.debug("%s %s answered %d (%s)", what, where, status, type(error).__name__)
    return error_response(status, http_description(error))


# The frames that run an action (this SDK, Starlette, anyio, asyncio): not the service's code.
_PLUMBING = tuple(
    os.path.dirname(path) + os.sep
    for path in (__file__, starlette.__file__ or "", anyio.__file__ or "", asyncio.__file__ or "")
)


def action_traceback(error: BaseException) -> str:
    """Format `error`'s traceback from the first frame of the service's own code."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        if not frame.tb_frame.f_code.co_filename.startswith(_PLUMBING):
            break
        frame = frame.tb_next
    return "".join(traceback.format_exception(type(error), error, frame))


def _tail(text: str, limit: int) -> str:
    """The end of `text` (where a traceback names the error), at most `limit` characters."""
    return text if len(text) <= limit else "...\n" + text[-limit:]


class Endpoints:
    """The protocol endpoints of one service, built when it starts serving.

    They get what they answer from: the settings, the action registry, the templates, the
    interceptor chain that runs actions and the mail callback.
    """

    def __init__(
        self,
        settings: Settings,
        registry: ActionRegistry,
        templates: TemplateStore,
        *,
        handler: Handler,
        mail_callback: MailCallback | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.templates = templates
        self.handler = handler
        self.mail_callback = mail_callback

    async def ping(self, raw: StarletteRequest) -> Response:
        """Echo `data` back, proving the service is up and reachable."""
        return json_response({"data": raw.query_params.get("data", "")})

    async def version(self, raw: StarletteRequest) -> Response:
        """Name the protocol and its version."""
        return json_response(
            {"result": "Ok", "version": PROTOCOL_VERSION, "protocol": self.settings.api_name}
        )

    async def routes(self, raw: StarletteRequest) -> Response:
        """List the actions (route, methods, template): served only in DEBUG, for `plugit check`."""
        listed = [
            {"route": spec.route, "methods": list(spec.methods), "template": spec.template}
            for spec in self.registry
        ]
        return json_response({"routes": listed})

    async def meta(self, raw: StarletteRequest) -> Response:
        """The action's meta object, cacheable by the proxy until `Expire`."""
        found = self.registry.resolve(raw.path_params["route"])
        if found is None:
            return NOT_FOUND
        spec, _ = found
        tag = await run_in_threadpool(self.templates.tag, spec.template)
        max_age = self.settings.meta_max_age
        headers = {
            HEADER_META_EXPIRE: email.utils.formatdate(time.time() + max_age, usegmt=True),
            "Cache-Control": f"public, max-age={max_age}",
        }
        return json_response(spec.meta_object(tag), headers=headers)

    async def template(self, raw: StarletteRequest) -> Response:
        """The raw text of the action's template."""
        found = self.registry.resolve(raw.path_params["route"])
        if found is None:
            return NOT_FOUND
        name = found[0].template
        template = await run_in_threadpool(self.templates.get, name)
        if template is None:
            return NOT_FOUND
        # The file's name, for the proxy's messages about this template (an optional extension).
        headers = {HEADER_TEMPLATE_FILE: quote(name, safe="/")}
        return Response(template.content, headers=headers, media_type="text/plain; charset=utf-8")

    async def action(self, raw: StarletteRequest, route: str) -> Response:
        """Run the action answering `route`, the way the proxy asked for it."""
        found = self.registry.resolve(route)
        if found is None:
            return error_response(404, "no action answers this route")
        spec, kwargs = found
        cors = spec.crossdomain.headers_for(spec.methods) if spec.crossdomain else {}
        if raw.method not in spec.accepted_methods:
            refused = error_response(405, f"{raw.method} is not allowed here")
            refused.headers["Allow"] = ", ".join(sorted(spec.accepted_methods))
            return refused
        if raw.method == "OPTIONS" and cors and "OPTIONS" not in spec.methods:
            return Response(status_code=200, headers=cors)
        serving = serving_request(raw.headers.get(HEADER_REQUEST_ID, ""))  # for log lines
        try:
            request = await self._read(raw)
            result = await self.handler(ActionCall(request, spec, kwargs))
            response = to_response(result, send_etag=spec.send_etag)
        except Exception as error:
            where = f"({spec.name} on {raw.method} {raw.scope['path']})"
            response = failure_response(error, "the action", where, debug=self.settings.debug)
        finally:
            done_serving(serving)
            await raw.close()
        if cors:
            response.headers.update(cors)
        return response

    async def mail(self, raw: StarletteRequest) -> Response:
        """Hand a user's e-mail reply (relayed by the proxy) to the mail callback."""
        try:
            request = await self._read(raw)
            if "response_id" not in request.form:
                return error_response(400, "the form field 'response_id' is required")
            if not request.form["response_id"]:
                return json_response({"result": "Error"})
            return to_response(await self._mail_callback(request))
        except Exception as error:
            return failure_response(error, "the mail callback", debug=self.settings.debug)
        finally:
            await raw.close()

    async def _mail_callback(self, request: Request) -> Any:
        callback = self.mail_callback
        if callback is None:
            return {"result": "Ok"}
        if inspect.iscoroutinefunction(callback):
            answer = await callback(request)
        else:
            answer = await run_in_threadpool(callback, request)
        return {"result": "Ok"} if answer is None else answer

    async def _read(self, raw: StarletteRequest) -> Request:
        client = raw.scope.get("client")
        address = caller_address(
            client[0] if client else None, raw.headers, use_proxy_ip=self.settings.use_proxy_ip
        )
        return await read_request(raw, limit=self.settings.max_body_size, remote_addr=address)


class MediaFiles(StaticFiles):
    """The service's media folder, with a Cache-Control header on every file.

    A service without a media folder (checked at start-up) simply answers 404 for media.
    """

    def __init__(self, directory: str, *, max_age: int) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.present = os.path.isdir(directory)
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response

    async def check_config(self) -> None:
        if self.present:
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.present:
            return NOT_FOUND
        return await super().get_response(path, scope)
