"""`plugit platform status`: every project, its versions, instances and their health.

Instances are those configured (the platform file, the admin) and those registered
(approved or pending, live or expired, with their last heartbeat); health is the verdict the
proxy processes share through the cache (healthshare.py): `new` when none was reached yet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any, TextIO

from django.utils import timezone

from ..config import PRODUCTION

__all__ = ["print_status", "status_lines"]

EXIT_OK, EXIT_DATABASE = 0, 1


def status_lines() -> Iterator[str]:
    """Describe every project, one line per version and per instance (sync)."""
    from django.core.cache import cache

    from ..platform import models
    from .instances import is_live, registry_settings

    ttl, approval = registry_settings()
    yield (
        f"registry: heartbeats expire after {ttl:g} s; new instances "
        f"{'wait for approval' if approval else 'are served at once'}"
    )
    projects = models.Project.objects.prefetch_related("services", "registered_instances")
    for project in projects.order_by("slug"):
        yield f"project {project.slug} ({project.name})"
        shadows = set(project.shadow_versions or ())
        rows: dict[str, list[str]] = {}
        for service in project.services.all():
            health = _health(cache, service.url)
            rows.setdefault(service.version, []).append(f"{service.url}  configured  {health}")
        for instance in project.registered_instances.all():
            live = "live" if is_live(instance, ttl) else "expired"
            approved = "approved" if instance.approved else "pending approval"
            seen = _ago(instance.last_heartbeat)
            health = _health(cache, instance.url)
            rows.setdefault(instance.version, []).append(
                f"{instance.url}  registered, {approved}, {live} (heartbeat {seen})  {health}"
            )
        for version in sorted(rows, key=lambda name: (name != PRODUCTION, name)):
            yield f"  version {version}{' (shadow)' if version in shadows else ''}"
            for line in rows[version]:
                yield f"    {line}"


def _health(cache: Any, url: str) -> str:
    from ..healthshare import health_key

    try:
        found = cache.get(health_key(url))
    except Exception as error:  # the cache may be down: say so, list the rest
        return f"health unknown ({error})"
    if not isinstance(found, list | tuple) or len(found) != 5:
        return "health: new (no verdict shared yet)"
    status, _, _, _, reason = found
    return f"health: {status}" + (f" ({reason})" if reason else "")


def _ago(when: Any) -> str:
    seconds = (timezone.now() - when).total_seconds()
    return f"{seconds:.0f} s ago"


def print_status(out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the status; 1 when the database cannot be read."""
    from django.db import DatabaseError

    out, err = out or sys.stdout, err or sys.stderr
    try:
        for line in status_lines():
            print(line, file=out)
    except DatabaseError as error:
        print(f"plugit: error: cannot read the platform's database: {error}", file=err)
        return EXIT_DATABASE
    return EXIT_OK
