"""The outbox sender of a proxy whose database was never migrated: one warning, no failures."""

from __future__ import annotations

import asyncio
import logging

import pytest

from plugit.testing import LiveServer
from plugit_proxy.mail.models import OutboxMessage
from plugit_proxy.mail.worker import outbox_exists

from .conftest import ProxyFactory


async def test_unmigrated_database_gives_one_warning_and_no_failure(
    proxy_factory: ProxyFactory, demo_service: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert not await asyncio.to_thread(outbox_exists)  # these tests' data are not migrated
    handle = proxy_factory(demo_service.url)
    with caplog.at_level(logging.INFO, logger="plugit_proxy"):
        await handle.app.startup()  # the sender's first pass starts at once
        assert (await handle.client.get("/plugIt/")).status_code == 200
        await handle.app.shutdown()  # and stopping waits for the pass to end
    mail = [r for r in caplog.records if r.name == "plugit_proxy.mail"]
    assert not [r for r in mail if r.levelno >= logging.ERROR]
    assert "no such table" not in caplog.text
    warnings = [r.getMessage() for r in mail if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert OutboxMessage._meta.db_table in warnings[0]
    assert "migrate" in warnings[0]
