"""Who is asking: users, organisations, and the provider interface that finds them.

The pipeline only talks to an `IdentityProvider`. The standalone proxy's provider simulates
users and organisations (plugit_proxy.standalone); a hosted platform plugs in real accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from plugit.protocol import DEFAULT_USER_FIELDS
from plugit.userfields import UserFlags, UserProfile

from .config import Project
from .sessions import Session

__all__ = [
    "Identity",
    "IdentityProvider",
    "Organisation",
    "OrganisationSwitching",
    "User",
    "UserSimulation",
    "user_context",
]


@dataclass(frozen=True, kw_only=True)
class Organisation:
    """An organisation a user belongs to; `codops` is its short code."""

    pk: int
    name: str
    codops: str
    is_admin: bool = False

    def as_context(self) -> dict[str, Any]:
        """Give the template view (`ebuio_orga`), with `ebu_codops` for old templates."""
        return {
            "pk": self.pk,
            "id": self.pk,
            "name": self.name,
            "codops": self.codops,
            "ebu_codops": self.codops,
        }


@dataclass(frozen=True, kw_only=True)
class User(UserProfile, UserFlags):
    """A user as the protocol describes one; `pk` is None for the anonymous user."""

    pk: int | None = None
    uuid: str = ""
    subscription_labels: tuple[str, ...] = ()  # for the project it is seen from
    orgas: tuple[Organisation, ...] = field(default=(), repr=False)

    @property
    def is_authenticated(self) -> bool:
        return self.pk is not None

    def field(self, name: str) -> Any:
        """Read a protocol user field (`id` is `str(pk)`); unknown names raise KeyError."""
        if name == "id":
            return "" if self.pk is None else str(self.pk)
        if name in _FIELD_NAMES:
            return getattr(self, name)
        raise KeyError(name)

    def fields(self, allowed: tuple[str, ...]) -> dict[str, Any]:
        """Give the allowed fields only (unknown names are skipped)."""
        return {name: self.field(name) for name in allowed if name in _KNOWN_FIELDS}


# The protocol's user fields (`id` is derived from `pk`), the UUID services may look users up
# by, and the subscription labels a platform project may be granted.
_FIELD_NAMES = (frozenset(DEFAULT_USER_FIELDS) - {"id"}) | {"uuid", "subscription_labels"}
_KNOWN_FIELDS = _FIELD_NAMES | {"id"}

ANONYMOUS = User()


@dataclass(frozen=True, kw_only=True)
class Identity:
    """The user of one request, seen from one project."""

    user: User = ANONYMOUS
    orga: Organisation | None = None
    orgas: tuple[Organisation, ...] = ()
    user_mode: str | None = None  # standalone only: ano, log, mem, adm
    real_users: bool = False
    login_url: str | None = None  # where an anonymous user signs in (None: no sign-in page)
    operator: bool = False  # a platform administrator (staff): error pages show their detail


class IdentityProvider(Protocol):
    """Find users and organisations for the pipeline and for the services' API."""

    async def identify(self, session: Session, project: Project) -> Identity:
        """Tell who makes the request, from their session."""
        ...

    async def get_user(self, project: Project, key: str | int) -> User | None:
        """Find a user by pk or UUID, seen from `project`."""
        ...

    async def get_orga(self, pk: int) -> Organisation | None:
        """Find an organisation."""
        ...

    async def get_orgas(self) -> tuple[Organisation, ...]:
        """List every organisation."""
        ...

    async def get_members(self, project: Project) -> tuple[User, ...]:
        """List the members of a project."""
        ...

    async def get_subscriptions(self, project: Project, pk: int) -> list[str]:
        """List the subscription labels a user holds for a project."""
        ...


@runtime_checkable
class OrganisationSwitching(Protocol):
    """A provider of real accounts whose users switch between their own organisations."""

    async def switch_orga(self, session: Session, identity: Identity, pk: int) -> bool:
        """Make organisation `pk` current; False when the user may not switch to it."""
        ...


# -- A user as templates see it (`ebuio_u`, plugitGetUser) -----------------------------------
def user_context(user: User, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Give a user as templates see it: the allowed fields, `id` = str(pk)."""
    fields = user.fields(allowed)
    fields["is_authenticated"] = user.is_authenticated
    fields["is_anonymous"] = not user.is_authenticated
    return fields


# -- Simulated users and organisations (the standalone proxy, docs/protocol.md §7) ---------
@runtime_checkable
class UserSimulation(Protocol):
    """A provider of simulated users, switched by the developer (`ebuio_setUser/setOrga`)."""

    @property
    def user_modes(self) -> Mapping[str, str]:
        """Name each mode's label, in the order the header offers them."""
        ...

    async def set_user_mode(self, session: Session, mode: str) -> None:
        """Switch the simulated user; ValueError names an unknown mode."""
        ...

    async def simulate_orga(self, session: Session, pk: str, name: str, codops: str) -> None:
        """Switch the simulated organisation (an empty pk: none); ValueError for a bad pk."""
        ...
