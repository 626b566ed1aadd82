"""Self-registered instances: register, refresh, leave; which are live; a cheap signature.

An instance is live while its last heartbeat is younger than the TTL (PLUGIT_REGISTRY_TTL);
it is served when live and approved. Every function here is sync (call it off the loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import RegisteredInstance

__all__ = [
    "Registration",
    "deregister",
    "is_live",
    "live_approved",
    "register",
    "registry_settings",
    "registry_signature",
]


@dataclass(frozen=True, slots=True)
class Registration:
    """What a register or heartbeat call did."""

    instance: RegisteredInstance
    created: bool


def registry_settings() -> tuple[float, bool]:
    """The TTL in seconds and whether new instances wait for approval (the configuration)."""
    from django.conf import settings

    platform = settings.PLUGIT_CONFIGURATION.platform
    return platform.registry_ttl, platform.registry_approval


def register(project_pk: int, version: str, url: str) -> Registration:
    """Register `url` as an instance of the project's `version`, or refresh its heartbeat."""
    _, approval = registry_settings()
    now = timezone.now()
    found = RegisteredInstance.objects.filter(project_id=project_pk, version=version, url=url)
    if found.update(last_heartbeat=now):
        return Registration(found.get(), created=False)
    try:
        with transaction.atomic():
            instance = RegisteredInstance.objects.create(
                project_id=project_pk,
                version=version,
                url=url,
                approved=not approval,
                last_heartbeat=now,
            )
    except IntegrityError:  # another process registered it at the same moment
        found.update(last_heartbeat=now)
        return Registration(found.get(), created=False)
    return Registration(instance, created=True)


def deregister(project_pk: int, version: str, url: str) -> bool:
    """Forget the instance; tell whether it was known."""
    deleted, _ = RegisteredInstance.objects.filter(
        project_id=project_pk, version=version, url=url
    ).delete()
    return bool(deleted)


def live_approved(ttl: float | None = None) -> QuerySet[RegisteredInstance]:
    """The instances served now: approved, with a heartbeat younger than the TTL."""
    if ttl is None:
        ttl, _ = registry_settings()
    since = timezone.now() - timedelta(seconds=ttl)
    return RegisteredInstance.objects.filter(approved=True, last_heartbeat__gte=since)


def registry_signature() -> tuple[Any, ...]:
    """Name the served instances (pks): changes when one comes, goes, expires or is approved."""
    return tuple(live_approved().order_by("pk").values_list("pk", flat=True))


def is_live(instance: RegisteredInstance, ttl: float) -> bool:
    """Tell whether the instance's last heartbeat is younger than `ttl` seconds."""
    return instance.last_heartbeat >= timezone.now() - timedelta(seconds=ttl)
