"""The platform's projects, read from the database into the pipeline's `Project` configs.

Every page request is resolved against an in-process snapshot (a dict by slug: no query on
the hot path). A background task compares a cheap signature of the project tables every
`PLUGIT_PROJECTS_REFRESH` seconds and reloads the snapshot when it changed, so an operator's
edit in the admin (or a `plugit platform apply`) shows without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import Count, Max, Prefetch, Q

from plugit.exceptions import ConfigurationError

from ..config import (
    LAYOUT_LEGACY,
    LAYOUT_MODERN,
    PRODUCTION,
    Project,
    RouteRule,
    ServiceVersion,
    check_routing,
)
from ..registry.instances import live_approved, registry_signature
from ..tasks import cancel_and_wait
from ..versionrouting import parse_rule, versions_from_pairs
from . import models
from .origins import is_label

__all__ = ["PLATFORM_PREFIX", "HostedProject", "PlatformProjects", "load_projects", "mount_of"]

logger = logging.getLogger("plugit_proxy.platform")

PLATFORM_PREFIX = "/p/"


@dataclass(frozen=True, kw_only=True)
class HostedProject(Project):
    """A project of the hosted platform: its database row."""

    pk: int
    own_origin: bool = False  # served at `/` of `<slug>.<projects domain>`


def mount_of(slug: str) -> str:
    """Give the URL prefix of a project's pages: `/p/<slug>/`."""
    return f"{PLATFORM_PREFIX}{slug}/"


def project_config(row: models.Project, *, own_origin: bool = False) -> HostedProject | None:
    """Build a project's config from its row (None, logged, when it cannot be served)."""
    if own_origin and not is_label(row.slug):
        logger.warning("project %s is not served: its slug is no DNS label", row.slug)
        return None
    urls = tuple(url for version, url in _instances(row) if version == PRODUCTION)
    allowed = frozenset(orga.pk for orga in row.allowed_organisations.all())
    menu = (row.menu_action or "").strip() or None
    versions, rules = _routing(row)
    try:
        return HostedProject(
            key=row.slug,
            pk=row.pk,
            name=row.name,
            mount="/" if own_origin else mount_of(row.slug),
            own_origin=own_origin,
            service_urls=urls,
            orga_mode=row.orga_mode,
            proxy_mode=row.proxy_mode,
            menu_action=None if row.layout == models.Layout.PLAIN else menu,
            layout=LAYOUT_LEGACY if row.layout == models.Layout.LEGACY else LAYOUT_MODERN,
            user_fields=tuple(row.user_fields or ()),
            visibility=row.visibility,
            requires_https=row.requires_https,
            allowed_orgas=allowed or None,
            api_key_hash=row.api_key_hash,
            versions=versions,
            rules=rules,
        )
    except ConfigurationError as error:
        logger.warning("project %s is not served: %s", row.slug, error)
        return None


def _routing(row: models.Project) -> tuple[tuple[ServiceVersion, ...], tuple[RouteRule, ...]]:
    """Read a project's other versions and its routes; bad routes are logged and dropped."""
    pairs = tuple((version, url) for version, url in _instances(row) if version != PRODUCTION)
    shadows = row.shadow_versions if isinstance(row.shadow_versions, list) else []
    try:
        versions = versions_from_pairs(pairs, tuple(map(str, shadows)), where="shadow_versions")
    except ConfigurationError as error:
        logger.warning("project %s: its shadow versions are ignored: %s", row.slug, error)
        versions = versions_from_pairs(pairs)
    try:
        rules = tuple(
            parse_rule(route.version, route.rule, where=f"route {route.version}={route.rule}")
            for route in row.routes.all()
        )
        check_routing(versions, rules)
    except ConfigurationError as error:  # everyone sees production rather than no page
        logger.warning("project %s: its routes are ignored: %s", row.slug, error)
        rules = ()
    return versions, rules


def _instances(row: models.Project) -> tuple[tuple[str, str], ...]:
    """The (version, URL) of each instance: configured, then registered (live, approved)."""
    configured = [(service.version, service.url) for service in row.services.all()]
    registered = [(i.version, i.url) for i in getattr(row, "live_instances", ())]
    return tuple(dict.fromkeys(configured + registered))


def load_projects(*, own_origins: bool = False) -> dict[str, HostedProject]:
    """Read every servable project from the database (sync: call it off the event loop)."""
    live = Prefetch("registered_instances", live_approved(), to_attr="live_instances")
    rows = models.Project.objects.prefetch_related(
        "services", "routes", "allowed_organisations", live
    )
    found = (project_config(row, own_origin=own_origins) for row in rows)
    return {project.key: project for project in found if project is not None}


def accounts_signature() -> tuple[Any, ...]:
    """Summarise the membership tables (count, last row, admins): most edits change it."""
    admins = Count("pk", filter=Q(role=models.Role.ADMIN))
    parts: list[Any] = []
    for table in (models.OrganisationMembership, models.ProjectMembership):
        parts += table.objects.aggregate(n=Count("pk"), last=Max("pk"), admins=admins).values()
    parts += models.Subscription.objects.aggregate(n=Count("pk"), last=Max("pk")).values()
    parts += models.Organisation.objects.aggregate(n=Count("pk"), last=Max("pk")).values()
    active = Count("pk", filter=Q(is_active=True))
    parts += models.User.objects.aggregate(n=Count("pk"), active=active).values()
    return tuple(parts)


def signature() -> tuple[Any, ...]:
    """Summarise the project tables in one cheap query each; any edit changes it."""
    projects = models.Project.objects.aggregate(n=Count("pk"), last=Max("updated"))
    services = models.ProjectService.objects.aggregate(n=Count("pk"), last=Max("pk"))
    routes = models.ProjectRoute.objects.aggregate(n=Count("pk"), last=Max("pk"))
    allowed = models.Project.allowed_organisations.through.objects.aggregate(
        n=Count("pk"), last=Max("pk")
    )
    registered = registry_signature()  # self-registered instances come, go and expire
    return (
        *projects.values(),
        *services.values(),
        *routes.values(),
        *allowed.values(),
        registered,
    )


class PlatformProjects:
    """The registry of the platform's projects, kept in step with the database."""

    def __init__(
        self,
        *,
        refresh: float = 2.0,
        on_accounts_change: Callable[[], None] | None = None,
        own_origins: bool = False,
    ) -> None:
        self.refresh = refresh
        self.own_origins = own_origins  # each project at `/` of its own origin
        # Another process's edit evicts account records from *its* cache only, unless the
        # cache is shared (Redis): the membership tables are watched here too.
        self.on_accounts_change = on_accounts_change
        self._accounts: tuple[Any, ...] | None = None
        self._projects: dict[str, HostedProject] = {}
        self._signature: tuple[Any, ...] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def projects(self) -> tuple[HostedProject, ...]:
        """Every project served now, by name."""
        return tuple(sorted(self._projects.values(), key=lambda project: project.name))

    def get(self, slug: str) -> HostedProject | None:
        return self._projects.get(slug)

    def resolve(self, path: str) -> tuple[Project, str] | None:
        """Return the project of `/p/<slug>/<route>` and its route (`/<route>`)."""
        if not path.startswith(PLATFORM_PREFIX):
            return None
        slug, slash, rest = path[len(PLATFORM_PREFIX) :].partition("/")
        project = self._projects.get(slug)
        if project is None or not slash:
            return None
        return project, "/" + rest

    def mount_without_slash(self, path: str) -> Project | None:
        """Return the project whose mount is `path` plus a slash (to redirect there)."""
        if not path.startswith(PLATFORM_PREFIX):
            return None
        return self._projects.get(path[len(PLATFORM_PREFIX) :])

    async def reload(self) -> bool:
        """Reload the projects when the tables changed; tell whether they did."""
        current, accounts = await sync_to_async(lambda: (signature(), accounts_signature()))()
        if accounts != self._accounts:
            if self._accounts is not None and self.on_accounts_change is not None:
                self.on_accounts_change()
            self._accounts = accounts
        if current == self._signature:
            return False
        self._projects = await sync_to_async(load_projects)(own_origins=self.own_origins)
        self._signature = current
        logger.info("serving %d projects: %s", len(self._projects), ", ".join(self._projects))
        return True

    async def start(self) -> None:
        """Load the projects, then keep watching the database for changes."""
        await self.reload()
        if self._task is None and self.refresh > 0:
            self._task = asyncio.create_task(self._watch(), name="plugit-projects")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            try:
                await self.reload()
            except Exception:  # a database hiccup must not stop the watching
                logger.exception("could not check the projects for changes")
