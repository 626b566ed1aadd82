"""The proxy's configuration objects, read from Django settings (`PLUGIT_*` variables).

Every value is checked here: a bad one is a `ConfigurationError` naming the setting, which the
system checks (plugit_proxy.checks) report at start-up.
"""

from __future__ import annotations

from typing import Any

from plugit.exceptions import ConfigurationError

from .config import STANDALONE_MOUNT, Project, ProxyConfig, UpstreamConfig

__all__ = ["config_from_settings", "platform_config_from_settings", "upstream_from_settings"]


def config_from_settings() -> ProxyConfig:
    """Read the standalone proxy's configuration from Django settings."""
    from django.conf import settings

    service = settings.PLUGIT_SERVICE_URL
    if not service:
        raise ConfigurationError(
            "No service to serve: set PLUGIT_SERVICE_URL or run "
            "`plugit proxy --service http://127.0.0.1:5000`."
        )
    menu = settings.PLUGIT_MENU_ACTION.strip() or None
    project = Project(
        key="standalone",
        name=settings.PLUGIT_PLATFORM_NAME,
        mount=STANDALONE_MOUNT,
        service_urls=(service,),
        orga_mode=settings.PLUGIT_ORGA_MODE,
        proxy_mode=settings.PLUGIT_PROXY_MODE,
        menu_action=menu,
        layout=settings.PLUGIT_LAYOUT,
        user_fields=tuple(settings.PLUGIT_USER_FIELDS),
        honor_x_forwarded_for=settings.PLUGIT_HONOR_X_FORWARDED_FOR,
        trusted_proxies=_count("PLUGIT_TRUSTED_PROXIES", settings.PLUGIT_TRUSTED_PROXIES),
    )
    return ProxyConfig(
        platform_name=settings.PLUGIT_PLATFORM_NAME,
        static_url=settings.STATIC_URL,
        standalone=True,
        upstream=upstream_from_settings(),
        projects=(project,),
    )


def platform_config_from_settings() -> ProxyConfig:
    """Read the hosted platform's configuration (its projects come from the database)."""
    from django.conf import settings

    return ProxyConfig(
        platform_name=settings.PLUGIT_PLATFORM_NAME,
        static_url=settings.STATIC_URL,
        standalone=False,
        upstream=upstream_from_settings(),
        projects=(),
    )


def upstream_from_settings() -> UpstreamConfig:
    """Read the deadlines and limits of service calls."""
    from django.conf import settings

    return UpstreamConfig(
        connect_timeout=_number(
            "PLUGIT_UPSTREAM_CONNECT_TIMEOUT", settings.PLUGIT_UPSTREAM_CONNECT_TIMEOUT
        ),
        timeout=_number("PLUGIT_UPSTREAM_TIMEOUT", settings.PLUGIT_UPSTREAM_TIMEOUT),
        max_body=int(_number("PLUGIT_UPSTREAM_MAX_BODY", settings.PLUGIT_UPSTREAM_MAX_BODY)),
        breaker_failures=_count(
            "PLUGIT_UPSTREAM_BREAKER_FAILURES", settings.PLUGIT_UPSTREAM_BREAKER_FAILURES
        ),
        breaker_cooldown=_number(
            "PLUGIT_UPSTREAM_BREAKER_COOLDOWN", settings.PLUGIT_UPSTREAM_BREAKER_COOLDOWN
        ),
        instance_connections=_count(
            "PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS", settings.PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS
        ),
        instance_queue_timeout=_number(
            "PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT",
            settings.PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT,
        ),
    )


def _count(name: str, value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}.") from None
    if count < 0:
        raise ConfigurationError(f"{name} must be 0 (off) or more, not {value!r}.")
    return count


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{name} must be a number of seconds/bytes, not {value!r}."
        ) from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value!r}.")
    return number
