"""Sessions on the server by default: the browser holds an opaque key, nothing more.

Over real sockets: the cookie carries no session data (a service's SetSession values stay on
the proxy), switching to anonymous ends the old identity for a replayed cookie too, and the
two worker processes of `plugit proxy --workers 2` see the same sessions.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from cookie_kit import readable
from plugit.testing import LiveServer

from .conftest import ProxyFactory
from .services import build_demo_service
from .test_caching import Peers
from .test_live import start_proxy, stop

SESSION_KEY = re.compile(r"[a-z0-9]{32}")


async def test_set_session_values_never_reach_the_browser(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    client = proxy_factory(demo_service.url, live=True).client
    stored = await client.get("/plugIt/setsession")
    assert stored.status_code == 200
    set_cookies = stored.headers.get_list("set-cookie")
    assert set_cookies, "the session is saved"
    for header in set_cookies:
        assert "blue" not in readable(header.split(";", 1)[0].split("=", 1)[1])
        assert "color" not in readable(header.split(";", 1)[0].split("=", 1)[1])
    assert SESSION_KEY.fullmatch(client.cookies["sessionid"])  # an opaque key, nothing else
    assert (await client.get("/plugIt/getsession")).json() == {"color": "blue"}


async def test_a_replayed_cookie_loses_the_identity_switched_away_from(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    client = proxy_factory(demo_service.url, live=True).client
    await client.get("/plugIt/ebuio_setUser?mode=adm")
    old = client.cookies["sessionid"]
    assert "Signed in as <strong>admin</strong>" in (await client.get("/plugIt/")).text
    await client.get("/plugIt/ebuio_setUser?mode=ano")
    assert "Hello stranger" in (await client.get("/plugIt/")).text

    async with httpx.AsyncClient(base_url=str(client.base_url)) as replay:
        page = await replay.get("/plugIt/", headers={"Cookie": f"sessionid={old}"})
    assert page.status_code == 200
    assert "Signed in as <strong>admin</strong>" not in page.text
    assert "Hello stranger" in page.text


def test_two_workers_of_a_proxy_agree_on_a_session(tmp_path: Path) -> None:
    """`plugit proxy --workers 2`: a session made on one worker is seen on the other."""
    peers = Peers(build_demo_service(str(tmp_path / "service")))
    with LiveServer(peers) as service:
        process, url = start_proxy(service.url, tmp_path / "data", PLUGIT_WORKERS="2")
        try:
            with httpx.Client(base_url=url, headers={"Connection": "close"}) as client:
                assert client.get("/plugIt/ebuio_setUser?mode=adm").status_code == 302
                client.get("/plugIt/setsession")
                pages = [client.get("/plugIt/") for _ in range(30)]
                sessions = [client.get("/plugIt/getsession").json() for _ in range(10)]
        finally:
            stop(process)
    # Each worker keeps its own pooled connection to the service: two ports seen mean both
    # workers answered these requests (each on a new connection).
    assert len(set(peers.ports)) >= 2
    assert all("Signed in as <strong>admin</strong>" in page.text for page in pages)
    assert sessions == [{"color": "blue"}] * 10
