"""`/readyz` follows the cache and the database: 503 naming what is away, 200 once it is back.

The cache: a redis-server of the test's own, killed and started again on the same port.
The database: a fresh PostgreSQL database reached through a TCP relay in the test; stopping
the relay cuts the platform off from PostgreSQL exactly as a dead server or a network split
would (the machine's PostgreSQL itself keeps running for the other tests).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import (
    POSTGRES_URL,
    Platform,
    apply,
    check_postgres_and_redis,
    free_port,
    postgres_database,
    serving,
)

from .conftest import ops_platform_env
from .ops_kit import Relay, closed_port_url, platform_file, redis_server, wait_for


def readiness(platform: Platform) -> tuple[int, dict[str, object]]:
    answer = httpx.get(platform.url + "/readyz", timeout=15)
    return answer.status_code, answer.json()


def wait_ready(platform: Platform, ready: bool) -> dict[str, object]:
    """Poll /readyz until it says `ready` (a probe every tenth of a second, as a balancer)."""
    seen: dict[str, object] = {}

    def settled() -> bool:
        nonlocal seen
        status, seen = readiness(platform)
        return (status == 200) is ready and seen["ready"] is ready

    wait_for(settled, f"/readyz to say ready={ready}")
    return seen


@pytest.mark.redis
def test_readiness_follows_redis(tmp_path: Path, service_url: str) -> None:
    port = free_port()
    env = ops_platform_env(
        tmp_path,
        PLUGIT_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        PLUGIT_CACHE_PREFIX="ops-readiness",
    )
    with redis_server(port, tmp_path) as redis:
        apply(env, tmp_path, platform_file(service_url, closed_port_url()))
        with serving(env, tmp_path) as platform:
            assert readiness(platform) == (200, {"ready": True})
            redis.kill()
            redis.wait()
            body = wait_ready(platform, ready=False)
            failing = body["failing"]
            assert isinstance(failing, dict)
            assert set(failing) == {"cache"}  # the database is fine
            assert failing["cache"]
            with redis_server(port, tmp_path):
                assert wait_ready(platform, ready=True) == {"ready": True}


@pytest.mark.postgres
def test_readiness_follows_postgresql(tmp_path: Path, service_url: str) -> None:
    check_postgres_and_redis()
    host, _, port = POSTGRES_URL.rpartition("@")[2].partition(":")
    relay = Relay(free_port(), (host, int(port or 5432)))
    relay.start()
    try:
        with postgres_database() as url:
            name = url.rpartition("/")[2]
            user = POSTGRES_URL.rpartition("@")[0]  # postgresql://<user>
            relayed = f"{user}@127.0.0.1:{relay.port}/{name}"
            env = ops_platform_env(tmp_path, PLUGIT_DATABASE_URL=relayed)
            apply(env, tmp_path, platform_file(service_url, closed_port_url()))
            with serving(env, tmp_path) as platform:
                assert readiness(platform) == (200, {"ready": True})
                relay.stop()
                body = wait_ready(platform, ready=False)
                failing = body["failing"]
                assert isinstance(failing, dict)
                assert set(failing) == {"database"}
                relay.start()
                assert wait_ready(platform, ready=True) == {"ready": True}
                relay.stop()  # before the database is dropped
    finally:
        relay.stop()
