"""Fixtures of the platform's web tests: real platforms over real sockets.

`platform` is parametrised: every test runs on the embedded defaults (SQLite, the cache
and the sessions in the data folder) and on PostgreSQL + Redis (skipped when they are not
reachable, except with CI=true, where they must be).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
from plugit_platform_services import build_service

from plugit.testing import LiveServer

POSTGRES = pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The `shared` service (alpha and beta) and the `other` one (gamma)."""
    root = tmp_path_factory.mktemp("services")
    with (
        LiveServer(build_service(root / "shared", "Shared")) as shared,
        LiveServer(build_service(root / "other", "Other")) as other,
    ):
        yield {"shared": shared.url, "other": other.url}


@pytest.fixture(scope="session", params=["embedded", POSTGRES])
def platform(
    request: pytest.FixtureRequest,
    service_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """A platform applied from a file (two projects on one service URL, three orgas)."""
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"platform-{backend}")
    with _database(backend) as database:
        env = stores_env(backend, workdir, database)
        apply(env, workdir, platform_toml(service_urls["shared"], service_urls["other"]))
        with serving(env, workdir) as running:
            yield running


def _database(backend: str) -> contextlib.AbstractContextManager[str | None]:
    if backend == "embedded":
        return contextlib.nullcontext()
    check_postgres_and_redis()
    return postgres_database()
