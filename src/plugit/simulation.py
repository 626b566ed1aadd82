"""The simulated users and organisations of a standalone proxy (docs/protocol.md §7).

Shared by the standalone proxy and the SDK's test kit, so a service tested with the kit
meets the very users it meets behind `plugit proxy`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from plugit.protocol import DEFAULT_USER_FIELDS
from plugit.userfields import UserProfile

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "BBC",
    "CNN",
    "DEFAULT_ORGA",
    "EBU",
    "LOGGED",
    "MEMBER",
    "ORGAS",
    "ORGAS_BY_PK",
    "RTS",
    "USERS_BY_MODE",
    "USERS_BY_PK",
    "Orga",
    "SimulatedUser",
    "UserMode",
]

UserMode = Literal["ano", "log", "mem", "adm"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Orga:
    """An organisation: primary key, name and EBU code ("codops")."""

    pk: int
    name: str
    codops: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimulatedUser(UserProfile):
    """A user of the standalone proxy; `member`/`admin` are of the project (and orga)."""

    mode: UserMode
    pk: int | None
    member: bool = False
    admin: bool = False

    @property
    def is_authenticated(self) -> bool:
        """False only for the anonymous user."""
        return self.pk is not None

    def fields(self, *, orga_mode: bool) -> dict[str, Any]:
        """Every user field of the default allow-list, as the proxy knows them."""
        if self.pk is None:
            return {}
        flags = {
            "ebuio_member": self.member,
            "ebuio_admin": self.admin,
            "ebuio_orga_member": orga_mode and self.member,
            "ebuio_orga_admin": orga_mode and self.admin,
        }
        derived: dict[str, Any] = {"id": str(self.pk), **flags}
        return {
            name: derived[name] if name in derived else getattr(self, name)
            for name in DEFAULT_USER_FIELDS
        }


def _person(mode: UserMode, pk: int, name: str, *, member: bool, admin: bool) -> SimulatedUser:
    """A simulated user called `name` ("member": Member User, member@example.org)."""
    return SimulatedUser(
        mode=mode,
        pk=pk,
        username=name,
        first_name=name.capitalize(),
        last_name="User",
        email=f"{name}@example.org",
        member=member,
        admin=admin,
    )


ANONYMOUS = SimulatedUser(mode="ano", pk=None)
LOGGED = _person("log", -1, "logged", member=False, admin=False)
MEMBER = _person("mem", -2, "member", member=True, admin=False)
ADMIN = _person("adm", -3, "admin", member=True, admin=True)
USERS_BY_MODE: dict[str, SimulatedUser] = {u.mode: u for u in (ANONYMOUS, LOGGED, MEMBER, ADMIN)}
USERS_BY_PK: dict[int, SimulatedUser] = {u.pk: u for u in (LOGGED, MEMBER, ADMIN) if u.pk}

EBU = Orga(pk=-1, name="EBU", codops="zzebu")
RTS = Orga(pk=-2, name="RTS", codops="chrts")
BBC = Orga(pk=-3, name="BBC", codops="gbbbc")
CNN = Orga(pk=-4, name="CNN", codops="uscnn")
ORGAS: tuple[Orga, ...] = (EBU, RTS, BBC, CNN)
ORGAS_BY_PK: dict[int, Orga] = {orga.pk: orga for orga in ORGAS}
DEFAULT_ORGA = EBU
