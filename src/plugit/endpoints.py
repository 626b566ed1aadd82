"""The service side of the protocol: ping, version, mail, meta, template, action, media."""

from __future__ import annotations

import email.utils
import inspect
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from plugit.exceptions import http_description, http_status
from plugit.guard import caller_address
from plugit.interceptors import ActionCall, Handler
from plugit.protocol import HEADER_META_EXPIRE, PROTOCOL_VERSION
from plugit.registry import ActionRegistry
from plugit.request import Request, read_request
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


def failure_response(error: Exception, what: str, where: str = "") -> Response:
    """Answer an exception: its HTTP status when it carries one (see `http_status`), else 500.

    Call it inside the `except` block: a 500 logs the traceback (with `where`), which never
    goes to the caller.
    """
    status = http_status(error)
    if status is None:
        log.exception("%s failed %s", what, where)
        return error_response(500, f"{what} failed; see the service's log")
    log.debug("%s %s answered %d (%s)", what, where, status, type(error).__name__)
    return error_response(status, http_description(error))


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
        template = await run_in_threadpool(self.templates.get, found[0].template)
        if template is None:
            return NOT_FOUND
        return Response(template.content, media_type="text/plain; charset=utf-8")

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
        try:
            request = await self._read(raw)
            result = await self.handler(ActionCall(request, spec, kwargs))
            response = to_response(result, send_etag=spec.send_etag)
        except Exception as error:
            where = f"({spec.name} on {raw.method} {raw.scope['path']})"
            response = failure_response(error, "the action", where)
        finally:
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
            return failure_response(error, "the mail callback")
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
