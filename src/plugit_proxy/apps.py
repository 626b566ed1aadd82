"""The proxy as a Django app: templates, static files, tags, system checks."""

from __future__ import annotations

from django.apps import AppConfig


class PlugItProxyConfig(AppConfig):
    name = "plugit_proxy"
    label = "plugit_proxy"
    verbose_name = "PlugIt proxy"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
