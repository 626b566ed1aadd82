"""The proxy's HTTPS policy, for what it serves itself (Django's own pages have SecurityMiddleware).

Each part is opt-in, with Django's setting behind it: plain HTTP redirected to HTTPS
(PLUGIT_HTTPS_REDIRECT: SECURE_SSL_REDIRECT), Strict-Transport-Security on secure answers
(PLUGIT_HSTS_SECONDS: SECURE_HSTS_*), and a TLS proxy's header believed about the scheme
(PLUGIT_BEHIND_TLS_PROXY: SECURE_PROXY_SSL_HEADER).
"""

from __future__ import annotations

from django.conf import settings
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import Message, Receive, Scope, Send

__all__ = ["HttpsPolicy", "hsts_header", "scheme_of", "tls_proxy_header", "with_header"]


class HttpsPolicy:
    """Redirect plain HTTP to HTTPS and mark secure answers with HSTS, as configured."""

    def __init__(
        self, *, redirect: bool, hsts: bytes | None, tls_proxy: tuple[str, str] | None
    ) -> None:
        self.redirect = redirect
        self.hsts = hsts
        self.tls_proxy = tls_proxy
        self.active = redirect or hsts is not None

    @classmethod
    def from_settings(cls) -> HttpsPolicy:
        """Read the policy from Django settings."""
        return cls(
            redirect=bool(settings.SECURE_SSL_REDIRECT),
            hsts=hsts_header(),
            tls_proxy=tls_proxy_header(),
        )

    def scheme(self, scope: Scope) -> str:
        """Tell the scheme the browser used for this request."""
        return scheme_of(Request(scope), self.tls_proxy)

    async def apply(self, scope: Scope, receive: Receive, send: Send) -> Send | None:
        """Give the `send` to answer with (HSTS added when secure); None: redirected to HTTPS."""
        secure = self.scheme(scope) == "https"
        if self.redirect and not secure:
            url = Request(scope).url.replace(scheme="https")
            await RedirectResponse(str(url), status_code=301)(scope, receive, send)
            return None
        if secure and self.hsts is not None:
            return with_header(send, b"strict-transport-security", self.hsts)
        return send


def tls_proxy_header() -> tuple[str, str] | None:
    """The header and value by which a trusted TLS proxy says the browser used HTTPS.

    Only with PLUGIT_BEHIND_TLS_PROXY (Django's SECURE_PROXY_SSL_HEADER): anyone can send
    `X-Forwarded-Proto`, so without a proxy in front that overwrites it, it proves nothing.
    """
    configured = settings.SECURE_PROXY_SSL_HEADER
    if not configured:
        return None
    meta_name, value = configured
    return meta_name.removeprefix("HTTP_").replace("_", "-").lower(), value


def scheme_of(request: Request, tls_proxy: tuple[str, str] | None) -> str:
    """The scheme the browser used: the trusted proxy's header when sent, else the socket's."""
    if tls_proxy is not None:
        name, secure_value = tls_proxy
        sent = request.headers.get(name)
        if sent is not None:  # as Django's `is_secure`: the first value decides
            return "https" if sent.split(",", 1)[0].strip() == secure_value else "http"
    return request.url.scheme


def hsts_header() -> bytes | None:
    """The Strict-Transport-Security value Django's SecurityMiddleware sends, or None."""
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value.encode("latin-1")


def with_header(send: Send, name: bytes, value: bytes) -> Send:
    """Wrap `send` to add a header to the response it starts."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (name, value)]}
        await send(message)

    return sending
