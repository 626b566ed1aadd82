"""Fixtures of the operations tests: one platform (two workers) in front of a live service."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugit_platform_launch import Platform, apply, platform_env, serving

from plugit.testing import LiveServer

from .ops_kit import KEY, SERVICE_LOGGER, Collected, build_service, closed_port_url, platform_file

METRICS_TOKEN = "ops-metrics-token-" + "m" * 20


@pytest.fixture(scope="session")
def service_log() -> Iterator[Collected]:
    handler = Collected()
    logger = logging.getLogger(SERVICE_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(scope="session")
def service_url(tmp_path_factory: pytest.TempPathFactory, service_log: Collected) -> Iterator[str]:
    with LiveServer(build_service(tmp_path_factory.mktemp("ops-service"))) as server:
        yield server.url + "/"


def ops_platform_env(workdir: Path, **settings: str) -> dict[str, str]:
    return platform_env(workdir / "data", OPS_KEY=KEY, **settings)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, service_url: str) -> Iterator[Platform]:
    """Two workers, JSON log lines, trusted request ids, /metrics by token only."""
    workdir = tmp_path_factory.mktemp("ops-platform")
    env = ops_platform_env(
        workdir,
        PLUGIT_LOG_FORMAT="json",
        PLUGIT_TRUST_REQUEST_ID="true",
        PLUGIT_METRICS_TOKEN=METRICS_TOKEN,
        PLUGIT_METRICS_NETWORKS="10.255.0.0/16",  # not the tests' loopback: the token it is
    )
    apply(env, workdir, platform_file(service_url, closed_port_url()))
    with serving(env, workdir, workers=2) as running:
        yield running
