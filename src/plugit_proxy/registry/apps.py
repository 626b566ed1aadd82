"""The registry as a Django app."""

from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "plugit_proxy.registry"
    label = "plugit_registry"
    verbose_name = "PlugIt instances and shadows"
    default_auto_field = "django.db.models.BigAutoField"
