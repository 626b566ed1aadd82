"""The API key's place in a request: in the path or as a Bearer token."""

from __future__ import annotations

import pytest

from plugit_proxy.api.auth import split_key


@pytest.mark.parametrize(
    ("rest", "authorization", "expected"),
    [
        ("KEY/user/3", "", ("KEY", "user/3")),
        ("KEY/orgas/", "Bearer OTHER", ("KEY", "orgas/")),  # the path wins
        ("orgas/", "Bearer KEY", ("KEY", "orgas/")),
        ("orgas/", "bearer   KEY  ", ("KEY", "orgas/")),
        ("members/", "", ("", "members/")),
        ("members/", "Basic abc", ("", "members/")),
        ("", "", ("", "")),
    ],
)
def test_split_key(rest: str, authorization: str, expected: tuple[str, str]) -> None:
    assert split_key(rest, authorization) == expected
