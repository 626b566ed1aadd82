"""Scale-out: two platform processes on one PostgreSQL, one Redis, one secret key.

A user signed in through one process is signed in on the other, and a page one process
cached is served by the other without calling the service again. Admin edits (here: a
re-applied platform file) reach running processes without a restart.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugit_platform_launch import (
    Platform,
    apply,
    check_postgres_and_redis,
    platform_toml,
    postgres_database,
    serving,
    stores_env,
)
from plugit_platform_services import CALLS


@pytest.fixture(scope="module")
def two_processes(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Platform]]:
    check_postgres_and_redis()
    workdir = tmp_path_factory.mktemp("scale-out")
    with postgres_database() as database:
        env = stores_env("postgres", workdir, database)
        apply(env, workdir, platform_toml(service_urls["shared"], service_urls["other"]))
        with serving(env, workdir) as first, serving(env, workdir) as second:
            yield first, second


@pytest.mark.postgres
@pytest.mark.redis
def test_signed_in_through_one_process_signed_in_on_the_other(
    two_processes: tuple[Platform, Platform],
) -> None:
    first, second = two_processes
    assert first.url != second.url
    alice = first.login("alice")
    on_second = second.client()
    on_second.cookies.update(alice.cookies)
    page = on_second.get("/p/alpha/")
    assert re.search(r'id="who">alice<', page.text), page.text
    assert on_second.get("/p/beta/").status_code == 200  # a member there, too


@pytest.mark.postgres
@pytest.mark.redis
def test_a_page_cached_by_one_process_is_served_by_the_other(
    two_processes: tuple[Platform, Platform],
) -> None:
    first, second = two_processes
    bob_first = first.login("bob")
    bob_second = second.login("bob")
    query = {"run": uuid.uuid4().hex}
    before = CALLS["Shared"]
    cached = bob_first.get("/p/alpha/cached", params=query).text
    assert CALLS["Shared"] == before + 1
    served = bob_second.get("/p/alpha/cached", params=query).text
    assert CALLS["Shared"] == before + 1  # no second call: the entry came from Redis
    count = re.compile(r"id='count'>(\d+)<")
    assert count.findall(cached) == count.findall(served)


def wait_for(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail("the change did not show in time")


def test_edits_show_without_a_restart(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Re-apply the file with gamma renamed and made public: the running platform follows."""
    workdir: Path = tmp_path_factory.mktemp("edits")
    env = stores_env("embedded", workdir, None)
    text = platform_toml(service_urls["shared"], service_urls["other"])
    apply(env, workdir, text)
    with serving(env, workdir) as platform:
        anonymous = platform.client()
        assert "/p/gamma/" not in anonymous.get("/").text
        assert anonymous.get("/p/gamma/").status_code == 302
        edited = text.replace('name = "Gamma"\nservices', 'name = "Gamma Two"\nservices')
        edited = edited.replace('visibility = "signed_in"', 'visibility = "public"')
        apply(env, workdir, edited)
        assert "Gamma Two" in anonymous.get("/").text
        wait_for(lambda: anonymous.get("/p/gamma/").status_code == 200)
        bob = platform.login("bob")
        assert bob.get("/p/beta/").status_code == 200
        apply(env, workdir, text.replace('dave = "admin", bob = "member" }', 'dave = "admin" }'))
        wait_for(lambda: bob.get("/p/beta/").status_code == 403)
