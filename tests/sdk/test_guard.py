"""The network guard: ping, mail, meta, template and action answer only PI_ALLOWED_NETWORKS."""

from __future__ import annotations

import httpx
import pytest

from plugit import Request, Service, Settings
from plugit.guard import address_allowed, caller_address
from plugit.settings import parse_networks

from .conftest import ConnectFn
from .helpers import make_service

GUARDED = [
    ("GET", "/ping?data=x"),
    ("POST", "/mail"),
    ("GET", "/meta/"),
    ("GET", "/template/"),
    ("GET", "/action/"),
    ("GET", "/action/unknown"),
]
OPEN = [("GET", "/version"), ("GET", "/media/logo.txt")]


def guarded_service(root, **settings) -> Service:
    service = make_service(root, **settings)

    @service.action("/", template="home.html")
    def home(request: Request) -> dict[str, str]:
        return {"remote_addr": request.remote_addr}

    return service


async def call(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    data = {"response_id": "1"} if path == "/mail" else None
    return await client.request(method, path, data=data)


def in_process(service: Service, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(service, client=(peer, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1"])
async def test_default_networks_allow_loopback(connect: ConnectFn, tmp_path, peer: str) -> None:
    client = connect(guarded_service(tmp_path), peer=peer)
    for method, path in GUARDED + OPEN:
        answer = await call(client, method, path)
        assert answer.status_code == (404 if path.endswith("unknown") else 200), path


@pytest.mark.parametrize(
    ("networks", "peer"),
    [(["127.0.0.1/32"], "::1"), (["::1/128"], "127.0.0.1"), (["10.0.0.0/8"], "127.0.0.1")],
)
async def test_callers_outside_the_networks_get_a_plain_404(
    connect: ConnectFn, tmp_path, networks: list[str], peer: str
) -> None:
    service = guarded_service(tmp_path, allowed_networks=parse_networks(networks))
    client = connect(service, peer=peer)
    for method, path in GUARDED:
        answer = await call(client, method, path)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path
    for method, path in OPEN:
        assert (await call(client, method, path)).status_code == 200, path


@pytest.mark.parametrize(
    ("networks", "peer", "allowed"),
    [
        (["10.0.0.0/8"], "10.20.30.40", True),
        (["10.0.0.0/8"], "11.0.0.1", False),
        (["192.168.1.7/32"], "192.168.1.7", True),
        (["192.168.1.7/32"], "192.168.1.8", False),
        (["0.0.0.0/0"], "203.0.113.9", True),
        (["0.0.0.0/0"], "2001:db8::1", False),
        (["2001:db8::/32"], "2001:db8:1::5", True),
        (["2001:db8::/32"], "2001:db9::5", False),
        (["::/0"], "fe80::1", True),
        (["127.0.0.1/32"], "::ffff:127.0.0.1", True),  # IPv4-mapped IPv6
        (["10.0.0.0/8", "2001:db8::/32"], "2001:db8::2", True),
        (["10.0.0.0/8"], "not-an-address", False),
        (["10.0.0.0/8"], "", False),
    ],
)
async def test_networks_in_process(tmp_path, networks: list[str], peer: str, allowed: bool) -> None:
    service = guarded_service(tmp_path, allowed_networks=parse_networks(networks))
    async with in_process(service, peer) as client:
        for method, path in GUARDED[:-1]:
            answer = await call(client, method, path)
            assert answer.status_code == (200 if allowed else 404), (path, peer)


async def test_proxy_ip_uses_the_last_forwarded_hop(connect: ConnectFn, tmp_path) -> None:
    service = guarded_service(
        tmp_path, allowed_networks=parse_networks(["10.0.0.0/8"]), use_proxy_ip=True
    )
    client = connect(service)
    allowed = {"X-Forwarded-For": "203.0.113.1, 192.0.2.2, 10.1.1.1"}
    denied = {"X-Forwarded-For": "10.1.1.1, 192.0.2.2"}
    answer = await client.get("/action/", headers=allowed)
    assert answer.status_code == 200
    assert answer.json() == {"remote_addr": "10.1.1.1"}
    assert (await client.get("/action/", headers=denied)).status_code == 404
    assert (await client.get("/ping", headers=denied)).status_code == 404
    # No header: the socket peer (127.0.0.1) is checked, and it is not in 10/8.
    assert (await client.get("/action/")).status_code == 404


async def test_proxy_ip_with_ipv6_hop(connect: ConnectFn, tmp_path) -> None:
    service = guarded_service(
        tmp_path, allowed_networks=parse_networks(["2001:db8::/32"]), use_proxy_ip=True
    )
    client = connect(service)
    answer = await client.get("/action/", headers={"X-Forwarded-For": "10.0.0.1, 2001:db8::7"})
    assert answer.json() == {"remote_addr": "2001:db8::7"}
    bad = {"X-Forwarded-For": "2001:db8::7, garbage"}
    assert (await client.get("/action/", headers=bad)).status_code == 404


async def test_forwarded_for_is_ignored_without_use_proxy_ip(connect: ConnectFn, tmp_path) -> None:
    service = guarded_service(tmp_path, allowed_networks=parse_networks(["10.0.0.0/8"]))
    client = connect(service)
    headers = {"X-Forwarded-For": "10.1.1.1"}
    assert (await client.get("/action/", headers=headers)).status_code == 404


async def test_remote_addr_is_the_socket_peer(connect: ConnectFn, tmp_path) -> None:
    service = guarded_service(tmp_path)
    answer = await connect(service, peer="::1").get("/action/")
    assert answer.json() == {"remote_addr": "::1"}


async def test_networks_from_the_config_module(connect: ConnectFn, tmp_path) -> None:
    settings = Settings.load({"PI_ALLOWED_NETWORKS": ["10.0.0.0/8"]}, environ={})
    service = guarded_service(tmp_path)
    service.settings = settings  # before the first call builds the app
    assert (await connect(service).get("/ping")).status_code == 404
    assert (await connect(guarded_service(tmp_path / "b")).get("/ping")).status_code == 200


def test_caller_address_and_address_allowed_units() -> None:
    from starlette.datastructures import Headers

    headers = Headers({"x-forwarded-for": " 1.1.1.1 ,2.2.2.2 , "})
    assert caller_address("9.9.9.9", headers, use_proxy_ip=True) == "2.2.2.2"
    assert caller_address("9.9.9.9", headers, use_proxy_ip=False) == "9.9.9.9"
    assert caller_address(None, Headers({}), use_proxy_ip=True) == ""
    nets = parse_networks(["fe80::/10"])
    assert address_allowed("fe80::1%eth0", nets)
    assert address_allowed("[fe80::1]", nets)
