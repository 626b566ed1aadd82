"""The three user and organisation records share the protocol's one list of fields.

The SDK's API client (`plugit.api`), the proxy's identity (`plugit_proxy.identity`) and the
simulation (`plugit.simulation`) keep their own classes (their jobs differ), not their own
field names: these come from `plugit.protocol`.
"""

from __future__ import annotations

import dataclasses

import pytest

from plugit import api, simulation
from plugit.protocol import DEFAULT_USER_FIELDS, ORGA_FIELDS, USER_FLAG_FIELDS
from plugit_proxy import identity, standalone


def field_names(cls: type) -> set[str]:
    return {field.name for field in dataclasses.fields(cls) if not field.name.startswith("_")}


def test_every_record_has_the_protocol_fields() -> None:
    assert set(USER_FLAG_FIELDS) <= set(DEFAULT_USER_FIELDS)
    assert field_names(api.User) == {*DEFAULT_USER_FIELDS, "orgas"}
    assert set(DEFAULT_USER_FIELDS) - {"id"} <= field_names(identity.User)
    assert set(ORGA_FIELDS) <= field_names(api.Orga)
    assert set(ORGA_FIELDS) <= field_names(identity.Organisation)
    assert field_names(simulation.Orga) == set(ORGA_FIELDS)


@pytest.mark.parametrize("person", [simulation.LOGGED, simulation.MEMBER, simulation.ADMIN])
def test_a_simulated_user_reads_the_same_through_proxy_and_api(
    person: simulation.SimulatedUser,
) -> None:
    orga = standalone.DEFAULT_ORGA
    seen = standalone.simulated_user(person.mode, orga, orga_mode=True)
    sent = seen.fields(DEFAULT_USER_FIELDS)
    assert list(sent) == list(person.fields(orga_mode=True))
    assert sent == person.fields(orga_mode=True)
    read = api.User.from_json(sent)
    assert {name: getattr(read, name) for name in DEFAULT_USER_FIELDS} == sent


def test_the_simulated_organisations_reach_the_proxy_whole() -> None:
    for orga, seen in zip(simulation.ORGAS, standalone.SIMULATED_ORGAS, strict=True):
        values = {name: getattr(orga, name) for name in ORGA_FIELDS}
        assert {name: getattr(seen, name) for name in ORGA_FIELDS} == values
        assert {name: getattr(api.Orga.from_json(values), name) for name in ORGA_FIELDS} == values
