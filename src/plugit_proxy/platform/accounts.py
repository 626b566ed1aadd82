"""The accounts' mails (django-allauth) link to `PLUGIT_PUBLIC_URL`, never to the request's Host.

A password-reset request sent with `Host: evil.example` would otherwise mail the victim a
valid reset key on the attacker's host. Unknown hosts are refused before (ALLOWED_HOSTS,
derived from the public URL); this adapter makes sure that even a host that is allowed for
another reason (an extra name, a projects domain) never ends up in a link sent by mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest

__all__ = ["PlatformAccountAdapter", "PublicSite", "on_public_url"]


@dataclass(frozen=True)
class PublicSite:
    """What the mail templates call `current_site`: the platform's name and public host."""

    name: str
    domain: str


def on_public_url(url: str) -> str:
    """Move an absolute http(s) `url` onto PLUGIT_PUBLIC_URL (unchanged when that is unset)."""
    public = settings.PLUGIT_PUBLIC_URL
    parts = urlsplit(url)
    if not public or parts.scheme not in {"http", "https"}:
        return url
    base = urlsplit(public)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


class PlatformAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    """allauth's adapter, with every link it mails built on the platform's public URL."""

    def get_reset_password_from_key_url(self, key: str) -> str:
        return on_public_url(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return on_public_url(super().get_email_confirmation_url(request, emailconfirmation))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # The sign-up and reset links of "unknown account" and "account exists" mails are built
        # by allauth's flows directly: move every `*_url` of the context too.
        moved = {name: _on_public_url_if_link(name, value) for name, value in context.items()}
        super().send_mail(template_prefix, email, {"current_site": self._site(), **moved})

    def _site(self) -> PublicSite:
        public = settings.PLUGIT_PUBLIC_URL
        domain = urlsplit(public).netloc if public else self.request.get_host()
        return PublicSite(name=settings.PLUGIT_PLATFORM_NAME, domain=domain)


def _on_public_url_if_link(name: str, value: Any) -> Any:
    return on_public_url(value) if name.endswith("_url") and isinstance(value, str) else value
