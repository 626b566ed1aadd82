"""The registry's tables: instances that announced themselves, and shadow comparisons."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from ..config import PRODUCTION


class RegisteredInstance(models.Model):
    """A service instance that registered itself with the project's API key."""

    project = models.ForeignKey(
        "platform.Project", on_delete=models.CASCADE, related_name="registered_instances"
    )
    version = models.CharField(max_length=64, default=PRODUCTION)
    url = models.CharField(max_length=500, help_text="The base URL the instance announced.")
    approved = models.BooleanField(
        default=True,
        help_text="Served only once approved (new instances wait for approval when "
        "PLUGIT_REGISTRY_APPROVAL is on).",
    )
    registered = models.DateTimeField(auto_now_add=True)
    last_heartbeat = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["project", "version", "url"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "version", "url"], name="registry_one_instance_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.version})"


class ShadowRoute(models.Model):
    """How a shadow version answered the copies of one route, next to production.

    Every count is added with an atomic update (`F()`), so the processes of a platform add
    to the same row and the totals stay exact.
    """

    project = models.CharField(max_length=100, help_text="The project's slug (key).")
    version = models.CharField(max_length=64, help_text="The shadow version.")
    route = models.CharField(max_length=500, help_text="The action route, e.g. /show/3.")
    copies = models.BigIntegerField(default=0, help_text="Copies sent to the shadow.")
    answered = models.BigIntegerField(default=0, help_text="Copies the shadow answered.")
    status_differs = models.BigIntegerField(default=0, help_text="Answers of another status.")
    body_differs = models.BigIntegerField(
        default=0, help_text="Answers whose body differs from production's, byte for byte."
    )
    failures = models.BigIntegerField(
        default=0, help_text="Copies not answered: refused, failed or past the deadline."
    )
    dropped = models.BigIntegerField(
        default=0, help_text="Copies not sent: too many in flight already."
    )
    shadow_seconds = models.FloatField(default=0.0, help_text="Summed latency of the shadow.")
    production_seconds = models.FloatField(
        default=0.0, help_text="Summed latency of production, for the same requests."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["project", "version", "route"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "version", "route"], name="registry_one_row_per_route"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.version} {self.route}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.route = self.route[:500]
        super().save(*args, **kwargs)
