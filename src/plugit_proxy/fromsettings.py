"""The pipeline's configuration objects, from the typed configuration in Django settings.

`settings.PLUGIT_CONFIGURATION` is the proxy's one configuration (plugit_proxy.conf), already
parsed and checked; what is left here is a project's own rule (a standalone proxy needs a
service), which the system checks (plugit_proxy.checks) report at start-up.
"""

from __future__ import annotations

from plugit.exceptions import ConfigurationError

from .conf import Configuration
from .config import STANDALONE_MOUNT, Project, ProxyConfig, UpstreamConfig

__all__ = ["config_from_settings", "platform_config_from_settings", "upstream_from_settings"]


def _configuration() -> Configuration:
    from django.conf import settings

    config: Configuration = settings.PLUGIT_CONFIGURATION
    return config


def config_from_settings() -> ProxyConfig:
    """Read the standalone proxy's configuration from Django settings."""
    from django.conf import settings

    config = _configuration()
    standalone = config.standalone
    if not standalone.service_url:
        raise ConfigurationError(
            "No service to serve: set PLUGIT_SERVICE_URL or run "
            "`plugit proxy --service http://127.0.0.1:5000`."
        )
    project = Project(
        key="standalone",
        name=config.platform_name,
        mount=STANDALONE_MOUNT,
        service_urls=standalone.service_urls,
        versions=standalone.versions,
        rules=standalone.rules,
        orga_mode=standalone.orga_mode,
        proxy_mode=standalone.proxy_mode,
        menu_action=standalone.menu_action,
        layout=standalone.layout,
        user_fields=standalone.user_fields,
        honor_x_forwarded_for=standalone.honor_x_forwarded_for,
        trusted_proxies=standalone.trusted_proxies,
    )
    return ProxyConfig(
        platform_name=config.platform_name,
        static_url=settings.STATIC_URL,
        standalone=True,
        upstream=config.upstream,
        projects=(project,),
        dev=config.server.dev,
    )


def platform_config_from_settings() -> ProxyConfig:
    """Read the hosted platform's configuration (its projects come from the database)."""
    from django.conf import settings

    config = _configuration()
    return ProxyConfig(
        platform_name=config.platform_name,
        static_url=settings.STATIC_URL,
        standalone=False,
        upstream=config.upstream,
        projects=(),
        dev=config.server.dev,
    )


def upstream_from_settings() -> UpstreamConfig:
    """Read the deadlines and limits of service calls."""
    return _configuration().upstream
