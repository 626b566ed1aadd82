"""Real accounts for the pipeline and the API: users, organisations, memberships.

On the page path the user comes from the Django session that the pipeline already loaded
(the keys `django.contrib.auth.login` wrote), and everything else about them — profile,
organisations, project roles, subscriptions — from one cached *account record* per user.
Changes evict the record at once (plugit_proxy.platform.signals); a short lifetime bounds
what a missed signal (a bulk update, another process's in-memory cache) can leave stale.
So a signed-in page costs no database query in steady state.

On a project's own origin (plugit_proxy.platform.handoff) the session also carries the
platform sign-in it was handed off from; once that sign-in ended, the session signs no one in.

The session's sign-in is checked as `django.contrib.auth.get_user` checks it: a session hash
made under a secret in SECRET_KEY_FALLBACKS still signs in (the session then moves to the
current secret), one that matches no secret flushes the session. The account record keeps
the hashes under every secret, tagged with the secrets they were made with.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import replace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache.backends.base import BaseCache
from django.utils.crypto import constant_time_compare, salted_hmac

from ..config import Project
from ..identity import ANONYMOUS, Identity, Organisation, User
from ..sessions import Session
from . import models
from .origins import LOGIN_ROUTE
from .projects import HostedProject
from .visits import is_related, note_visit

__all__ = [
    "SESSION_ORGA",
    "SIGNIN_SESSION_KEY",
    "PlatformIdentities",
    "account_key",
    "load_account",
    "signed_out_key",
]

SESSION_ORGA = "plugit_platform_orga"
SIGNIN_SESSION_KEY = "plugit_signin"  # the platform sign-in a project session came from
ACCOUNT_KEY_PREFIX = "plugit:account:"
SIGNED_OUT_KEY_PREFIX = "plugit:signed-out:"


def account_key(pk: int | str) -> str:
    """Give the cache key of a user's account record."""
    return f"{ACCOUNT_KEY_PREFIX}{pk}"


def signed_out_key(signin: str) -> str:
    """Give the cache key marking a platform sign-in as ended."""
    return f"{SIGNED_OUT_KEY_PREFIX}{signin}"


def secrets_tag() -> str:
    """Name the secrets (current and fallbacks) that account records' hashes were made with."""
    return _secrets_tag(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=4)
def _secrets_tag(secret: str, fallbacks: tuple[str, ...]) -> str:
    # Keyed, so the shared cache holds nothing from which a secret could be guessed.
    message = "\n".join(fallbacks)
    return salted_hmac("plugit.platform.account-secrets", message, secret=secret).hexdigest()


def load_account(pk: int) -> dict[str, Any] | None:
    """Read a user's account record from the database (sync: call it off the event loop)."""
    user = models.User.objects.filter(pk=pk).first()
    if user is None:
        return None
    orgas = (
        models.OrganisationMembership.objects.filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name", "organisation__pk")
    )
    roles = models.ProjectMembership.objects.filter(user=user).values_list("project__slug", "role")
    subscriptions: dict[str, list[str]] = {}
    valid = models.Subscription.objects.valid().filter(user=user)
    for slug, label in valid.values_list("project__slug", "label").order_by("label"):
        subscriptions.setdefault(slug, []).append(label)
    return {
        "pk": user.pk,
        "uuid": str(user.uuid),
        "username": user.get_username(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff or user.is_superuser,
        "session_hash": user.get_session_auth_hash(),
        "fallback_hashes": list(user.get_session_auth_fallback_hash()),
        "secrets": secrets_tag(),
        "orgas": [
            (m.organisation.pk, m.organisation.name, m.organisation.codops, m.role == "admin")
            for m in orgas
        ],
        "roles": dict(roles),
        "subscriptions": subscriptions,
        "loaded": time.time(),
    }


class PlatformIdentities:
    """The identity provider of the hosted platform (an `IdentityProvider`)."""

    def __init__(self, cache: BaseCache, *, lifetime: int = 60, login_url: str = "") -> None:
        self.cache = cache
        self.lifetime = lifetime
        self.login_url = login_url or settings.LOGIN_URL
        self.valid_after = 0.0  # records loaded earlier are read again

    def forget_all(self) -> None:
        """Read every account record again (another process changed memberships)."""
        self.valid_after = time.time()

    async def account(self, pk: int, cached: Any = None) -> dict[str, Any] | None:
        """Give a user's account record, from the cache (or `cached`) when it holds it."""
        key = account_key(pk)
        record = cached if cached is not None else await self.cache.aget(key)
        if (
            not isinstance(record, dict)
            or record.get("loaded", 0) < self.valid_after
            or record.get("secrets") != secrets_tag()  # made before the secret changed
        ):
            record = await sync_to_async(load_account)(pk)
            if record is None:
                return None
            await self.cache.aset(key, record, self.lifetime)
        return record if isinstance(record, dict) else None

    async def identify(self, session: Session, project: Project) -> Identity:
        login_url = self._login_url(project)
        record = await self._signed_in(session)
        if record is None:
            return Identity(login_url=login_url)
        await note_visit(self.cache, project.key, record["pk"])
        orgas = _orgas(record, project)
        current = _current(orgas, await session.get(SESSION_ORGA)) if project.orga_mode else None
        return Identity(
            user=_user(record, project, current),
            orga=current,
            orgas=orgas if project.orga_mode else (),
            login_url=login_url,
            operator=bool(record.get("is_staff")),  # records cached before it: not staff
        )

    def _login_url(self, project: Project) -> str:
        """Sign in on the platform, or, from a project's own origin, through a hand-off."""
        if isinstance(project, HostedProject) and project.own_origin:
            return project.mount + LOGIN_ROUTE.lstrip("/")
        return self.login_url

    async def _signed_in(self, session: Session) -> dict[str, Any] | None:
        """Check the session's sign-in as `django.contrib.auth.get_user` does."""
        raw_pk = await session.get(SESSION_KEY)
        if raw_pk is None:
            return None
        if await session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
            return None
        try:
            pk = int(raw_pk)
        except (TypeError, ValueError):
            return None
        signin = await session.get(SIGNIN_SESSION_KEY)
        if signin is None:
            record = await self.account(pk)
        else:  # handed off from a platform sign-in: still signed in there?
            found = await self.cache.aget_many([account_key(pk), signed_out_key(str(signin))])
            if found.get(signed_out_key(str(signin))):
                return None
            record = await self.account(pk, found.get(account_key(pk)))
        if record is None or not record["is_active"]:
            return None
        if not await _verify_session_hash(session, record):
            await session.flush()  # a password change signs every other session out
            return None
        return record

    async def switch_orga(self, session: Session, identity: Identity, pk: int) -> bool:
        if not any(orga.pk == pk for orga in identity.orgas):
            return False
        await session.set(SESSION_ORGA, pk)
        return True

    async def get_user(self, project: Project, key: str | int) -> User | None:
        pk = await sync_to_async(_find_user)(str(key))
        record = None if pk is None else await self.account(pk)
        if record is None or not record["is_active"]:
            return None
        if not await is_related(self.cache, project.key, record):
            return None  # a project reads its members and its users only
        orgas = _orgas(record, project)
        user = _user(record, project, orgas[0] if orgas and project.orga_mode else None)
        if project.orga_mode or models.ORGAS in project.user_fields:
            return user
        return replace(user, orgas=())

    async def get_orga(self, pk: int) -> Organisation | None:
        row = await models.Organisation.objects.filter(pk=pk).afirst()
        return None if row is None else Organisation(pk=row.pk, name=row.name, codops=row.codops)

    async def get_orgas(self) -> tuple[Organisation, ...]:
        return tuple(
            [
                Organisation(pk=row.pk, name=row.name, codops=row.codops)
                async for row in models.Organisation.objects.order_by("name", "pk")
            ]
        )

    async def get_members(self, project: Project) -> tuple[User, ...]:
        members = models.ProjectMembership.objects.filter(
            project__slug=project.key, user__is_active=True
        ).order_by("user__username")
        found = []
        async for pk in members.values_list("user_id", flat=True):
            user = await self.get_user(project, pk)
            if user is not None:
                found.append(user)
        return tuple(found)

    async def get_subscriptions(self, project: Project, pk: int) -> list[str]:
        record = await self.account(pk)
        return [] if record is None else list(record["subscriptions"].get(project.key, []))


async def _verify_session_hash(session: Session, record: dict[str, Any]) -> bool:
    """Check the session's hash as Django does, moving one made under a fallback secret."""
    session_hash = await session.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    if constant_time_compare(session_hash, record["session_hash"]):
        return True
    if not any(constant_time_compare(session_hash, old) for old in record["fallback_hashes"]):
        return False
    await session.cycle_key()
    await session.set(HASH_SESSION_KEY, record["session_hash"])
    return True


def _find_user(key: str) -> int | None:
    """Find a user's pk from a pk or a UUID."""
    if key.isdigit():
        return models.User.objects.filter(pk=int(key)).values_list("pk", flat=True).first()
    try:
        found = uuid.UUID(key)
    except ValueError:
        return None
    return models.User.objects.filter(uuid=found).values_list("pk", flat=True).first()


def _orgas(record: dict[str, Any], project: Project) -> tuple[Organisation, ...]:
    """The user's organisations that the project accepts, by name."""
    allowed = project.allowed_orgas
    return tuple(
        Organisation(pk=pk, name=name, codops=codops, is_admin=is_admin)
        for pk, name, codops, is_admin in record["orgas"]
        if allowed is None or pk in allowed
    )


def _current(orgas: tuple[Organisation, ...], chosen: Any) -> Organisation | None:
    """The organisation the user switched to, else the first of theirs by name."""
    return next((orga for orga in orgas if orga.pk == chosen), orgas[0] if orgas else None)


def _user(record: dict[str, Any], project: Project, orga: Organisation | None) -> User:
    """Build the protocol's user as `project` sees it, in organisation `orga`."""
    role = record["roles"].get(project.key)
    base = replace(
        ANONYMOUS,
        pk=record["pk"],
        uuid=record["uuid"],
        username=record["username"],
        first_name=record["first_name"],
        last_name=record["last_name"],
        email=record["email"],
    )
    return replace(
        base,
        ebuio_member=role is not None,
        ebuio_admin=role == models.Role.ADMIN,
        ebuio_orga_member=orga is not None,
        ebuio_orga_admin=orga is not None and orga.is_admin,
        subscription_labels=tuple(record["subscriptions"].get(project.key, ())),
        orgas=_orgas(record, project),
    )
