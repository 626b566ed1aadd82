"""The platform's own pages (Django-routed: admin, accounts, API, home): security headers.

`ContentSecurityPolicyMiddleware` is native async (no thread hop per request) and sync
capable; Django 5.2 has no CSP of its own. X-Frame-Options, nosniff and the referrer policy
come from Django's own middleware and settings. Service pages never pass here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

__all__ = ["CSP_HEADER", "ContentSecurityPolicyMiddleware"]

CSP_HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    """Send `PLUGIT_CONTENT_SECURITY_POLICY` with every answer that sets none itself."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.policy: str = settings.PLUGIT_CONTENT_SECURITY_POLICY
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._with_policy(self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self._with_policy(await self.get_response(request))

    def _with_policy(self, response: HttpResponseBase) -> HttpResponseBase:
        if self.policy:
            response.headers.setdefault(CSP_HEADER, self.policy)
        return response
