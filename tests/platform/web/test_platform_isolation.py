"""Projects kept apart: session keys, cached pages, templates, across one service URL.

alpha and beta are two projects on the SAME service URL, and bob has the same organisation
(BBC) in both: the only thing that tells their cache entries and session keys apart is the
project. Each test would catch a leak.
"""

from __future__ import annotations

import re

from plugit_platform_launch import Platform
from plugit_platform_services import CALLS


def test_session_keys_are_kept_per_project(platform: Platform) -> None:
    bob = platform.login("bob")
    assert bob.get("/p/alpha/set", params={"value": "alpha-secret"}).json() == {"set": True}
    assert bob.get("/p/alpha/get").json() == {"session": {"secret": "alpha-secret"}}
    assert bob.get("/p/beta/get").json() == {"session": {}}  # same service, other project
    bob.get("/p/beta/set", params={"value": "beta-secret"})
    assert bob.get("/p/beta/get").json() == {"session": {"secret": "beta-secret"}}
    assert bob.get("/p/alpha/get").json() == {"session": {"secret": "alpha-secret"}}


def count_and_base(html: str) -> tuple[int, str]:
    count = re.search(r"id='count'>(\d+)<", html)
    base = re.search(r"id='base'>([^<]*)<", html)
    assert count is not None, html
    assert base is not None, html
    return int(count.group(1)), base.group(1)


def test_cached_pages_are_kept_per_project(platform: Platform) -> None:
    bob = platform.login("bob")
    before = CALLS["Shared"]
    alpha, alpha_base = count_and_base(bob.get("/p/alpha/cached?run=iso").text)
    beta, beta_base = count_and_base(bob.get("/p/beta/cached?run=iso").text)
    assert (alpha_base, beta_base) == ("/p/alpha/", "/p/beta/")
    assert beta != alpha
    assert CALLS["Shared"] == before + 2  # beta's page was its own call, not alpha's entry
    assert count_and_base(bob.get("/p/alpha/cached?run=iso").text) == (alpha, "/p/alpha/")
    assert count_and_base(bob.get("/p/beta/cached?run=iso").text) == (beta, "/p/beta/")
    assert CALLS["Shared"] == before + 2  # both served from their own cache entries


def test_each_project_shows_its_own_service_templates(platform: Platform) -> None:
    carol = platform.login("carol")
    alpha = carol.get("/p/alpha/").text
    gamma = carol.get("/p/gamma/").text  # the same routes on another service
    assert '<h1 id="title">Shared</h1>' in alpha
    assert '<h1 id="title">Other</h1>' in gamma
    assert "/p/gamma/" in gamma
    assert "/p/alpha/" not in gamma


def test_plain_layout_has_no_menu(platform: Platform) -> None:
    carol = platform.login("carol")
    assert "id='menu'" in carol.get("/p/alpha/").text
    assert "id='menu'" not in carol.get("/p/gamma/").text
