"""The platform as a Django app."""

from __future__ import annotations

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "plugit_proxy.platform"
    label = "platform"
    verbose_name = "PlugIt platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks: registered on import; signals: keep the web side's caches in step.
        from . import accesslog, checks, signals  # noqa: F401

        accesslog.install()
