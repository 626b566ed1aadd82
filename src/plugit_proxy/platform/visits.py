"""Which users a project may read through its API: its members and the users who used it.

A signed-in user opening a page of a project is recorded once (`ProjectVisit`); the cache
remembers the record so that later pages cost a cache read, not a query.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import BaseCache

from . import models

VISIT_KEY_PREFIX = "plugit:visit:"
VISIT_MEMORY = 24 * 3600  # seconds the cache remembers a recorded visit


def visit_key(project_key: str, user_pk: int) -> str:
    """Give the cache key marking a user's visit of a project as recorded."""
    return f"{VISIT_KEY_PREFIX}{project_key}:{user_pk}"


async def note_visit(cache: BaseCache, project_key: str, user_pk: int) -> None:
    """Record that the user opened a page of the project (once; later calls hit the cache)."""
    key = visit_key(project_key, user_pk)
    if await cache.aget(key):
        return
    await sync_to_async(_record)(project_key, user_pk)
    await cache.aset(key, True, VISIT_MEMORY)


async def is_related(cache: BaseCache, project_key: str, record: dict[str, Any]) -> bool:
    """Tell whether the account `record` is a member of the project or has used it."""
    if project_key in record["roles"]:
        return True
    if await cache.aget(visit_key(project_key, record["pk"])):
        return True
    visits = models.ProjectVisit.objects.filter(project__slug=project_key, user_id=record["pk"])
    return await visits.aexists()


def _record(project_key: str, user_pk: int) -> None:
    project = models.Project.objects.filter(slug=project_key).values_list("pk", flat=True).first()
    if project is not None:
        models.ProjectVisit.objects.get_or_create(project_id=project, user_id=user_pk)
