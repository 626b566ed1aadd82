"""Mail as a Django app: the outbox, reply routes and received replies."""

from __future__ import annotations

from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "plugit_proxy.mail"
    label = "plugit_mail"
    verbose_name = "PlugIt mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
