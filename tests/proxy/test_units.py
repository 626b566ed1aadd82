"""Small pieces, fast: configuration, the CLI, caching arithmetic, single flight, helpers."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from plugit.exceptions import ConfigurationError, PlugItError
from plugit.pagerules import Visitor, refused_rule
from plugit_proxy.cli import configuration_from_args, register
from plugit_proxy.config import Project
from plugit_proxy.identity import Identity, User
from plugit_proxy.pipeline.access import visitor
from plugit_proxy.pipeline.meta import meta_max_age
from plugit_proxy.templatetags.plugit_tags import url_target_blank
from plugit_proxy.upstream import SingleFlight, UpstreamError, UpstreamTimeout


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="plugit")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLUGIT_HOST", "PLUGIT_PORT", "PLUGIT_ORGA_MODE", "PLUGIT_PROXY_MODE"):
        monkeypatch.delenv(name, raising=False)
    args = parse(["proxy", "--service", "http://127.0.0.1:5000"])
    config = configuration_from_args(args)
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8000)
    assert (config.standalone.orga_mode, config.standalone.proxy_mode) == (True, False)
    assert config.standalone.service_url == "http://127.0.0.1:5000"
    assert callable(args.handler)


def test_cli_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGIT_SERVICE_URL", "http://svc:1")
    monkeypatch.setenv("PLUGIT_PORT", "9001")
    monkeypatch.setenv("PLUGIT_ORGA_MODE", "false")
    monkeypatch.setenv("PLUGIT_MENU_ACTION", "nav")
    monkeypatch.setenv("PLUGIT_WORKERS", "3")
    config = configuration_from_args(parse(["proxy"]))
    standalone, server = config.standalone, config.server
    assert (standalone.service_url, server.port, standalone.orga_mode) == (
        "http://svc:1",
        9001,
        False,
    )
    assert (standalone.menu_action, server.workers) == ("nav", 3)
    flagged = configuration_from_args(parse(["proxy", "--orga-mode", "--port", "1"]))
    assert (flagged.standalone.orga_mode, flagged.server.port) == (True, 1)


def test_project_validation() -> None:
    with pytest.raises(ConfigurationError, match="mount"):
        Project(key="x", name="x", mount="plugIt", service_urls=("http://a",))
    with pytest.raises(ConfigurationError, match="http://"):
        Project(key="x", name="x", mount="/p/", service_urls=("ftp://a",))
    project = Project(key="x", name="x", mount="/p/", service_urls=("http://a", "http://b/"))
    assert project.service_urls == ("http://a/", "http://b/")


def test_meta_max_age() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=120)
    assert 110 <= meta_max_age(format_datetime(soon, usegmt=True)) <= 120
    assert meta_max_age(format_datetime(datetime.now(UTC) - timedelta(1), usegmt=True)) == 0
    assert meta_max_age(None) == 300
    assert meta_max_age("garbage") == 300


def test_address_in_networks() -> None:
    def refused(address: str, networks: list[str]) -> str | None:
        meta = {"template_tag": "", "address_in_networks": networks}
        visiting = Visitor(authenticated=False, address=address)
        return refused_rule(meta, visiting, orga_mode=False)

    assert refused("10.0.0.1", ["10.0.0.0/8"]) is None
    assert refused("::1", ["127.0.0.1/32", "::1/128"]) is None
    assert refused("::ffff:10.0.0.1", ["10.0.0.0/8"]) is None
    assert refused("192.168.1.1", ["10.0.0.0/8", "not a network"]) == "address_in_networks"
    assert refused("not an address", ["0.0.0.0/0"]) == "address_in_networks"


def test_rules_need_a_signed_in_user() -> None:
    meta = {"template_tag": "", "only_member_user": True}
    fake_member = User(pk=None, ebuio_member=True)  # anonymous with a member flag: still refused
    anonymous = visitor(Identity(user=fake_member), "127.0.0.1")
    assert refused_rule(meta, anonymous, orga_mode=False) == "only_member_user"
    member = visitor(Identity(user=User(pk=5, ebuio_member=True)), "")
    assert refused_rule(meta, member, orga_mode=False) is None


def test_url_target_blank_keeps_safety() -> None:
    assert (
        url_target_blank("<a href='x'>")
        == '<a target="_blank" rel="noopener noreferrer" href=\'x\'>'
    )
    assert url_target_blank('<a target="self" href="x">') == '<a target="self" href="x">'


async def test_single_flight_shares_one_call_and_survives_cancellation() -> None:
    flights = SingleFlight()
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "done"

    first = asyncio.create_task(flights.do("k", work))
    others = [asyncio.create_task(flights.do("k", work)) for _ in range(5)]
    await asyncio.sleep(0.01)
    first.cancel()  # an impatient caller leaves; the others still get the answer
    assert await asyncio.gather(*others) == ["done"] * 5
    assert calls == 1
    assert await flights.do("k", work) == "done"
    assert calls == 2


async def test_single_flight_shares_failures() -> None:
    flights = SingleFlight()

    async def fail() -> None:
        await asyncio.sleep(0.01)
        raise UpstreamTimeout("late", url="http://x/")

    results = await asyncio.gather(
        *(flights.do("k", fail) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, UpstreamTimeout) for r in results)
    assert issubclass(UpstreamError, PlugItError)
    assert UpstreamTimeout.status == 504
