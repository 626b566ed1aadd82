"""Simulated users and organisations of the standalone proxy (docs/protocol.md §7).

The user mode and the current organisation are kept in the browser's Django session, so the
proxy holds no state of its own and any worker process can answer any request.
"""

from __future__ import annotations

from dataclasses import replace

from plugit import simulation
from plugit.protocol import ORGA_FIELDS

from .config import Project
from .identity import ANONYMOUS, Identity, Organisation, User
from .sessions import Session

__all__ = ["SIMULATED_ORGAS", "USER_MODES", "StandaloneIdentities"]

SESSION_USER_MODE = "plugit_standalone_user_mode"
SESSION_ORGA = "plugit_standalone_orga"

USER_MODES: dict[str, str] = {
    "ano": "Anonymous",
    "log": "Signed-in user",
    "mem": "Project member",
    "adm": "Project administrator",
}
DEFAULT_USER_MODE = "ano"

# The users and organisations themselves come from plugit.simulation, which the SDK's test
# kit shares: a service meets the same people under its tests and behind `plugit proxy`.
SIMULATED_ORGAS: tuple[Organisation, ...] = tuple(
    Organisation(**{name: getattr(orga, name) for name in ORGA_FIELDS}) for orga in simulation.ORGAS
)
DEFAULT_ORGA = next(orga for orga in SIMULATED_ORGAS if orga.pk == simulation.DEFAULT_ORGA.pk)


def _user(person: simulation.SimulatedUser) -> User:
    assert person.pk is not None
    fields = person.fields(orga_mode=False)
    del fields["id"]  # derived from pk
    return User(uuid=f"00000000-0000-4000-8000-{-person.pk:012d}", **fields)


_USERS: dict[str, User] = {
    mode: _user(person)
    for mode, person in simulation.USERS_BY_MODE.items()
    if person.pk is not None
}


def simulated_user(mode: str, orga: Organisation | None, orga_mode: bool) -> User:
    """Build the simulated user of `mode`, member/admin of `orga` as the mode implies."""
    base = _USERS.get(mode)
    if base is None:
        return ANONYMOUS
    orga_member = orga_mode and orga is not None and base.ebuio_member
    orga_admin = orga_mode and orga is not None and base.ebuio_admin
    orgas = () if orga is None else (replace(orga, is_admin=orga_admin),)
    return replace(base, ebuio_orga_member=orga_member, ebuio_orga_admin=orga_admin, orgas=orgas)


def orga_from_params(pk: str, name: str, codops: str = "") -> Organisation | None:
    """Make the organisation `ebuio_setOrga` asks for; an empty pk means none."""
    if not pk.strip():
        return None
    number = int(pk)  # ValueError for garbage: the caller answers 400
    known = next((orga for orga in SIMULATED_ORGAS if orga.pk == number), None)
    if known is not None and not name and not codops:
        return known
    return Organisation(
        pk=number,
        name=name or (known.name if known else f"Organisation {number}"),
        codops=codops or (known.codops if known else ""),
    )


class StandaloneIdentities:
    """The identity provider of the standalone proxy: simulated users, kept in the session."""

    user_modes = USER_MODES

    async def identify(self, session: Session, project: Project) -> Identity:
        mode = await session.get(SESSION_USER_MODE, DEFAULT_USER_MODE)
        if mode not in USER_MODES:
            mode = DEFAULT_USER_MODE
        orga: Organisation | None = None
        if project.orga_mode:
            stored = await session.get(SESSION_ORGA, _orga_to_session(DEFAULT_ORGA))
            orga = None if stored is None else Organisation(**stored)
        return Identity(
            user=simulated_user(mode, orga, project.orga_mode),
            orga=orga,
            orgas=SIMULATED_ORGAS if project.orga_mode else (),
            user_mode=mode,
            real_users=False,
        )

    async def set_user_mode(self, session: Session, mode: str) -> None:
        """Switch the simulated user (`ano`, `log`, `mem`, `adm`)."""
        if mode not in USER_MODES:
            raise ValueError(f"unknown user mode {mode!r}: use one of {', '.join(USER_MODES)}")
        await session.set(SESSION_USER_MODE, mode)

    async def set_orga(self, session: Session, orga: Organisation | None) -> None:
        """Switch the simulated organisation (None: the user has no organisation)."""
        await session.set(SESSION_ORGA, None if orga is None else _orga_to_session(orga))

    async def simulate_orga(self, session: Session, pk: str, name: str, codops: str) -> None:
        """Switch to the organisation `ebuio_setOrga` asks for; ValueError for a bad pk."""
        await self.set_orga(session, orga_from_params(pk, name, codops))

    async def get_user(self, project: Project, key: str | int) -> User | None:
        for mode in _USERS:
            user = simulated_user(mode, DEFAULT_ORGA, project.orga_mode)
            if str(user.pk) == str(key) or user.uuid == str(key):
                return user
        return None

    async def get_orga(self, pk: int) -> Organisation | None:
        return next((orga for orga in SIMULATED_ORGAS if orga.pk == pk), None)

    async def get_orgas(self) -> tuple[Organisation, ...]:
        return SIMULATED_ORGAS

    async def get_members(self, project: Project) -> tuple[User, ...]:
        return tuple(
            simulated_user(mode, DEFAULT_ORGA, project.orga_mode) for mode in ("mem", "adm")
        )

    async def get_subscriptions(self, project: Project, pk: int) -> list[str]:
        return []


def _orga_to_session(orga: Organisation) -> dict[str, object]:
    return {"pk": orga.pk, "name": orga.name, "codops": orga.codops}
