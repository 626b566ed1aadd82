"""The platform as a Django app."""

from __future__ import annotations

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "plugit_proxy.platform"
    label = "platform"
    verbose_name = "PlugIt platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - keeps the web side's caches in step
