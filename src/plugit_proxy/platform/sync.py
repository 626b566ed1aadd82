"""Bring the database in line with a checked platform file, in one transaction.

The rules (docs/operating-a-platform.md): entries are found by codops, username and slug,
created when missing and updated when they differ; nothing the file does not name is ever
deleted. An optional key the file leaves out leaves the stored value alone; a key the file
gives is made to hold exactly: a user's `organisations`, a project's `services`,
`allowed_organisations`, `members` and `subscriptions` are then the whole truth, and rows
beyond them are removed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import check_password
from django.db import models, transaction

from ..config import PRODUCTION, normalise_service_url
from .keys import key_matches, new_api_key
from .models import (
    Organisation,
    OrganisationMembership,
    Project,
    ProjectMembership,
    ProjectRoute,
    ProjectService,
    Subscription,
    User,
)
from .schema import (
    OrganisationEntry,
    PlatformFile,
    PlatformFileError,
    ProjectEntry,
    SubscriptionEntry,
    UserEntry,
)

__all__ = ["Outcome", "Report", "Tally", "sync_platform"]


class Outcome(enum.Enum):
    """What applying one entry did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class Tally:
    """How many entries of one kind were created, updated, or left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class Report:
    """The result of one apply: the tallies, and the API keys generated (shown once)."""

    organisations: Tally = field(default_factory=Tally)
    users: Tally = field(default_factory=Tally)
    projects: Tally = field(default_factory=Tally)
    new_keys: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when anything at all was written."""
        tallies = (self.organisations, self.users, self.projects)
        return any(tally.created or tally.updated for tally in tallies)


def sync_platform(platform: PlatformFile) -> Report:
    """Apply `platform` in one transaction: all of it, or (on any error) none of it."""
    report = Report()
    with transaction.atomic():
        organisations: dict[str, Organisation] = {}
        for orga_entry in platform.organisations:
            orga, outcome = sync_organisation(orga_entry)
            organisations[orga.codops] = orga
            report.organisations.add(outcome)
        users: dict[str, User] = {}
        for user_entry in platform.users:
            check_email_is_free(platform, user_entry)
            user, outcome = sync_user(user_entry, organisations)
            users[user.username] = user
            report.users.add(outcome)
        for project_entry in platform.projects:
            outcome, key = sync_project(project_entry, organisations, users)
            report.projects.add(outcome)
            if key is not None:
                report.new_keys[project_entry.slug] = key
    return report


def assign(instance: models.Model, **values: Any) -> bool:
    """Set the attributes that differ; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def outcome_of(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def given(**values: Any) -> dict[str, Any]:
    """Only the values the file gives (None: the file leaves the attribute alone)."""
    return {name: value for name, value in values.items() if value is not None}


# -- organisations ---------------------------------------------------------------------------


def sync_organisation(entry: OrganisationEntry) -> tuple[Organisation, Outcome]:
    orga = Organisation.objects.filter(codops=entry.codops).first()
    if orga is None:
        return Organisation.objects.create(codops=entry.codops, name=entry.name), Outcome.CREATED
    if assign(orga, name=entry.name):
        orga.save()
        return orga, Outcome.UPDATED
    return orga, Outcome.UNCHANGED


# -- users -----------------------------------------------------------------------------------


def sync_user(entry: UserEntry, organisations: Mapping[str, Organisation]) -> tuple[User, Outcome]:
    user = User.objects.filter(username=entry.username).first()
    created = user is None
    if user is None:
        user = User(username=entry.username)
    changed = assign(user, **user_values(entry))
    changed |= sync_password(user, entry, created=created)
    if created or changed:
        user.save()
    if entry.organisations is not None:
        wanted = {organisations[codops].pk: role for codops, role in entry.organisations.items()}
        changed |= match_roles(OrganisationMembership, "user", user, "organisation_id", wanted)
    changed |= sync_email_address(user, entry.email)
    return user, outcome_of(created, changed)


def user_values(entry: UserEntry) -> dict[str, Any]:
    """The user's attributes the file sets; `superuser` decides staff too, unless `staff` says."""
    values = given(
        email=entry.email,
        first_name=entry.first_name,
        last_name=entry.last_name,
        is_active=entry.active,
        is_superuser=entry.superuser,
        is_staff=entry.staff,
    )
    if entry.superuser is not None and entry.staff is None:
        values["is_staff"] = entry.superuser
    return values


def sync_password(user: User, entry: UserEntry, *, created: bool) -> bool:
    """Set the password from the environment; a new account without one gets none usable.

    An existing account's password is left alone when the file names no variable: it may
    have been set by its owner, and the file's silence means "not managed here".
    """
    if entry.password is not None:
        if not created and check_password(entry.password, user.password):
            return False
        user.set_password(entry.password)
        return True
    if created:
        user.set_unusable_password()
    return False


def check_email_is_free(platform: PlatformFile, entry: UserEntry) -> None:
    """Refuse an address another account (not in the file) already holds for log-in."""
    if not apps.is_installed("allauth.account"):
        return
    email_address = apps.get_model("account", "EmailAddress")
    clash = (
        email_address.objects.filter(email__iexact=entry.email)
        .exclude(user__username=entry.username)
        .select_related("user")
        .first()
    )
    if clash is not None:
        raise PlatformFileError(
            [
                f'{platform.path}: users[username="{entry.username}"].email: {entry.email!r} '
                f"is already the address of the account {clash.user.username!r}"
            ]
        )


def sync_email_address(user: User, email: str) -> bool:
    """Give the account its address as verified and primary, so it can log in at once."""
    if not apps.is_installed("allauth.account"):
        return False
    email_address = apps.get_model("account", "EmailAddress")
    addresses = list(email_address.objects.filter(user=user))
    mine = next((a for a in addresses if a.email.lower() == email.lower()), None)
    changed = False
    for other in addresses:
        if other is not mine and other.primary:
            other.primary = False
            other.save(update_fields=["primary"])
            changed = True
    if mine is None:
        email_address.objects.create(user=user, email=email, verified=True, primary=True)
        return True
    if assign(mine, email=email, verified=True, primary=True):
        mine.save()
        changed = True
    return changed


# -- projects --------------------------------------------------------------------------------


def sync_project(
    entry: ProjectEntry, organisations: Mapping[str, Organisation], users: Mapping[str, User]
) -> tuple[Outcome, str | None]:
    """Create or update a project; also return its new API key when one was generated."""
    project = Project.objects.filter(slug=entry.slug).first()
    created = project is None
    if project is None:
        project = Project(slug=entry.slug)
    changed = assign(project, **project_values(entry))
    key = None
    if entry.api_key is not None:
        if not key_matches(entry.api_key, project.api_key_hash):
            project.set_api_key(entry.api_key)
            changed = True
    elif not project.api_key_hash:
        key = new_api_key()
        project.set_api_key(key)
        changed = True
    if created or changed:
        project.save()
    routing = sync_services(project, entry.services)
    if entry.versions is not None:
        for name, urls in entry.versions.items():
            routing |= sync_services(project, urls, version=name)
        routing |= drop_versions(project, keep=set(entry.versions))
    if entry.routes is not None:
        routing |= sync_routes(project, entry.routes)
    if routing and not (created or changed):
        project.save(update_fields=["updated"])  # the serving processes watch `updated`
    changed |= routing
    changed |= sync_related(project, entry, organisations, users)
    return outcome_of(created, changed), key


def project_values(entry: ProjectEntry) -> dict[str, Any]:
    return given(
        name=entry.name,
        orga_mode=entry.orga_mode,
        proxy_mode=entry.proxy_mode,
        menu_action=entry.menu_action,
        layout=entry.layout,
        visibility=entry.visibility,
        requires_https=entry.requires_https,
        user_fields=None if entry.user_fields is None else list(entry.user_fields),
        shadow_versions=None if entry.shadow is None else list(entry.shadow),
    )


def sync_services(project: Project, urls: tuple[str, ...], version: str = PRODUCTION) -> bool:
    """Make the instances of the project's `version` exactly `urls`, in that order."""
    changed = False
    kept: set[str] = set()
    for service in list(project.services.all()):
        url = normalise_service_url(service.url)
        if url in urls and service.version != version:  # moved from another version
            service.delete()
            changed = True
            continue
        if service.version != version:
            continue
        if url not in urls or url in kept:
            service.delete()
            changed = True
            continue
        kept.add(url)
        if assign(service, url=url, position=urls.index(url)):
            service.save()
            changed = True
    for position, url in enumerate(urls):
        if url not in kept:
            ProjectService.objects.create(
                project=project, url=url, position=position, version=version
            )
            changed = True
    return changed


def drop_versions(project: Project, keep: set[str]) -> bool:
    """Remove the instances of versions (production aside) that the file no longer names."""
    gone = project.services.exclude(version=PRODUCTION).exclude(version__in=keep)
    deleted, _ = gone.delete()
    return bool(deleted)


def sync_routes(project: Project, routes: tuple[tuple[str, str], ...]) -> bool:
    """Make the project's routes exactly `routes`, in that order."""
    current = [(route.version, route.rule) for route in project.routes.order_by("position", "pk")]
    if current == list(routes):
        return False
    project.routes.all().delete()
    ProjectRoute.objects.bulk_create(
        ProjectRoute(project=project, version=version, rule=rule, position=position)
        for position, (version, rule) in enumerate(routes)
    )
    return True


def sync_related(
    project: Project,
    entry: ProjectEntry,
    organisations: Mapping[str, Organisation],
    users: Mapping[str, User],
) -> bool:
    """Accepted organisations, members and subscriptions, for those keys the file gives."""
    changed = False
    if entry.allowed_organisations is not None:
        wanted = {organisations[codops].pk for codops in entry.allowed_organisations}
        current = set(project.allowed_organisations.values_list("pk", flat=True))
        if wanted != current:
            project.allowed_organisations.set(wanted)
            changed = True
    if entry.members is not None:
        roles = {users[name].pk: role for name, role in entry.members.items()}
        changed |= match_roles(ProjectMembership, "project", project, "user_id", roles)
    if entry.subscriptions is not None:
        changed |= sync_subscriptions(project, entry.subscriptions, users)
    return changed


def match_roles(
    membership: type[models.Model],
    owner_field: str,
    owner: models.Model,
    other: str,
    wanted: Mapping[int, str],
) -> bool:
    """Make `owner`'s `membership` rows exactly `wanted` (the `other` side's pk -> role).

    Rows are saved and deleted one by one, so the signals that keep caches honest fire.
    """
    changed = False
    rows = membership._default_manager.filter(**{owner_field: owner})
    current = {getattr(row, other): row for row in rows}
    for pk, row in current.items():
        if pk not in wanted:
            row.delete()
            changed = True
        elif assign(row, role=wanted[pk]):
            row.save(update_fields=["role"])
            changed = True
    for pk, role in wanted.items():
        if pk not in current:
            membership(**{owner_field: owner, other: pk, "role": role}).save()
            changed = True
    return changed


def sync_subscriptions(
    project: Project,
    wanted: Mapping[str, tuple[SubscriptionEntry, ...]],
    users: Mapping[str, User],
) -> bool:
    """Make the project's subscriptions exactly those listed, validity dates included."""
    pending = {
        (users[username].pk, entry.label): entry
        for username, entries in wanted.items()
        for entry in entries
    }
    changed = False
    for subscription in Subscription.objects.filter(project=project):
        entry = pending.pop((subscription.user_id, subscription.label), None)
        if entry is None:
            subscription.delete()
            changed = True
        elif assign(subscription, valid_from=entry.valid_from, valid_until=entry.valid_until):
            subscription.save()
            changed = True
    for (user_pk, label), entry in pending.items():
        Subscription.objects.create(
            project=project,
            user_id=user_pk,
            label=label,
            valid_from=entry.valid_from,
            valid_until=entry.valid_until,
        )
        changed = True
    return changed
