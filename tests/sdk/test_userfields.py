"""The shared user field declarations are the protocol's default allow-list, and every user
record carries them."""

from __future__ import annotations

import dataclasses

from plugit.api import User as APIUser
from plugit.protocol import DEFAULT_USER_FIELDS, USER_FLAG_FIELDS
from plugit.simulation import SimulatedUser
from plugit.userfields import UserFlags, UserProfile
from plugit_proxy.identity import User as ProxyUser


def names(record: type) -> set[str]:
    return {field.name for field in dataclasses.fields(record)}


def test_the_declarations_are_the_default_allow_list() -> None:
    assert names(UserFlags) == set(USER_FLAG_FIELDS)
    assert names(UserProfile) | names(UserFlags) | {"pk", "id"} == set(DEFAULT_USER_FIELDS)


def test_every_user_record_carries_the_profile() -> None:
    for record in (APIUser, ProxyUser, SimulatedUser):
        assert names(UserProfile) <= names(record)
    for record in (APIUser, ProxyUser):
        assert names(UserFlags) <= names(record)
