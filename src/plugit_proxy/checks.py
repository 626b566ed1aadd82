"""Configuration errors as Django system checks, found at start-up, never per request."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS

from .fromsettings import config_from_settings

__all__ = ["check_project_origins", "check_proxy_settings", "check_single_sign_on"]

KNOWN_USER_FIELDS = frozenset(DEFAULT_USER_FIELDS) | {"uuid"}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@register("plugit")
def check_proxy_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check the PLUGIT_* settings of the standalone proxy."""
    messages: list[CheckMessage] = []
    if settings.PLUGIT_MODE == "platform":  # projects come from the database, not settings
        return messages
    try:
        config_from_settings()
    except ConfigurationError as error:
        messages.append(
            Error(str(error), hint="See `plugit proxy --help`.", id="plugit_proxy.E001")
        )
    unknown = [name for name in settings.PLUGIT_USER_FIELDS if name not in KNOWN_USER_FIELDS]
    if unknown:
        messages.append(
            Error(
                f"Unknown user fields in PLUGIT_USER_FIELDS: {', '.join(unknown)}.",
                hint=f"Choose among {', '.join(sorted(KNOWN_USER_FIELDS))}.",
                id="plugit_proxy.E002",
            )
        )
    if settings.PLUGIT_HONOR_X_FORWARDED_FOR:
        messages.append(
            Warning(
                "X-Forwarded-For is honoured: only safe behind a trusted reverse proxy.",
                id="plugit_proxy.W001",
            )
        )
    return messages


@register("plugit")
def check_single_sign_on(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse an OpenID Connect provider reached over plain HTTP (other than on loopback).

    django-allauth trusts the ID token it fetches from the provider's token endpoint on the
    strength of the connection (OpenID Connect Core 3.1.3.7), so that connection must be TLS.
    """
    providers = getattr(settings, "SOCIALACCOUNT_PROVIDERS", {})
    apps = providers.get("openid_connect", {}).get("APPS", [])
    messages: list[CheckMessage] = []
    for app in apps:
        server = urlsplit(app.get("settings", {}).get("server_url", ""))
        if server.scheme == "https" or server.hostname in LOOPBACK_HOSTS:
            continue
        messages.append(
            Error(
                f"PLUGIT_OIDC_SERVER_URL must use https, not {server.geturl()!r}.",
                hint="Sign-on trusts the provider's answers on the strength of TLS.",
                id="plugit_proxy.E003",
            )
        )
    return messages


ORIGINS_HINT = (
    "Set PLUGIT_PROJECTS_DOMAIN (e.g. projects.example.org, with a wildcard DNS record and "
    "certificate; `localhost` for development): see docs/operating-a-platform.md."
)


@register("plugit")
def check_project_origins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the platform's projects share one origin; refuse shared cookies when not."""
    if settings.PLUGIT_MODE != "platform":
        return []
    domain: str = settings.PLUGIT_PROJECTS_DOMAIN
    if not domain:
        return [
            Warning(
                "Every project is served on the platform's one origin (/p/<slug>/): a "
                "service's page can act on the admin, the accounts and the other projects "
                "as any user who opens it, so every service must be trusted.",
                hint=ORIGINS_HINT,
                id="plugit_proxy.W002",
            )
        ]
    messages: list[CheckMessage] = []
    if not _is_domain(domain):
        messages.append(
            Error(
                f"PLUGIT_PROJECTS_DOMAIN must be a host name, not {domain!r}.",
                hint=ORIGINS_HINT,
                id="plugit_proxy.E005",
            )
        )
    public = urlsplit(getattr(settings, "PLUGIT_PUBLIC_URL", "")).hostname or ""
    if public.endswith("." + domain):
        messages.append(
            Error(
                f"The platform ({public}) must not be under PLUGIT_PROJECTS_DOMAIN ({domain}): "
                "it would be taken for a project.",
                hint="Give the platform a host name outside the projects' domain.",
                id="plugit_proxy.E005",
            )
        )
    for name in ("SESSION_COOKIE_DOMAIN", "CSRF_COOKIE_DOMAIN"):
        if getattr(settings, name) is not None:
            messages.append(
                Error(
                    f"{name} is {getattr(settings, name)!r}: its cookies would be shared by "
                    "every project's origin, which PLUGIT_PROJECTS_DOMAIN keeps apart.",
                    hint=f"Leave {name} unset (None): each origin keeps cookies of its own.",
                    id="plugit_proxy.E004",
                )
            )
    return messages


def _is_domain(domain: str) -> bool:
    from .platform.origins import is_label

    return all(is_label(label) for label in domain.split("."))
