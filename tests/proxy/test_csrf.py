"""Forms (section 4): an unsafe request without the CSRF token is refused, nothing called."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from plugit.testing import LiveServer

from .conftest import ProxyFactory
from .services import Counting, build_demo_service


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Counting, LiveServer]]:
    counting = Counting(build_demo_service(str(tmp_path_factory.mktemp("csrf"))))
    with LiveServer(counting) as server:
        yield counting, server


async def test_post_without_token_is_refused_and_calls_nothing(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    counting, server = counted
    handle = proxy_factory(server.url)
    await handle.app.startup()
    await handle.client.get("/plugIt/form")  # gets the CSRF cookie
    page_calls = ("meta", "template", "action")  # health probes (ping, version) may come any time
    before = [counting.count(endpoint) for endpoint in page_calls]
    for data in ({"thing": "x"}, {"thing": "x", "csrfmiddlewaretoken": "a" * 64}):
        response = await handle.client.post("/plugIt/form", data=data)
        assert response.status_code == 403
        assert "CSRF verification failed" in response.text
    no_cookie = proxy_factory(server.url)
    await no_cookie.app.startup()
    assert (await no_cookie.client.post("/plugIt/form", data={"thing": "x"})).status_code == 403
    assert [counting.count(endpoint) for endpoint in page_calls] == before


async def test_post_with_the_form_token_reaches_the_action(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    handle = proxy_factory(counted[1].url)
    await handle.app.startup()
    page = await handle.client.get("/plugIt/")
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', page.text)
    assert token
    data = {"thing": "posted value", "csrfmiddlewaretoken": token.group(1)}
    response = await handle.client.post("/plugIt/form", data=data)
    assert response.status_code == 200
    assert "id='posted'>posted value<" in response.text


async def test_scripts_send_the_header(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    handle = proxy_factory(counted[1].url)
    await handle.app.startup()
    await handle.client.get("/plugIt/")
    secret = handle.client.cookies["csrftoken"]
    response = await handle.client.post(
        "/plugIt/form", data={"thing": "js"}, headers={"X-CSRFToken": secret}
    )
    assert response.status_code == 200
    other_site = await handle.client.post(
        "/plugIt/form",
        data={"thing": "js"},
        headers={"X-CSRFToken": secret, "Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert "another site" in other_site.text


def csrf_cookie(response: httpx.Response) -> str | None:
    """The value of the `csrftoken` cookie this response sets, if any."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == "csrftoken":
            return rest.split(";", 1)[0]
    return None


async def test_every_page_with_the_token_resends_the_cookie(
    proxy_factory: ProxyFactory, counted: tuple[Counting, LiveServer]
) -> None:
    handle = proxy_factory(counted[1].url, live=True)
    client = handle.client
    first = await client.get("/plugIt/")
    second = await client.get("/plugIt/")
    sent = csrf_cookie(first)
    assert sent is not None
    assert csrf_cookie(second) == sent
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', second.text)
    assert token
    data = {"thing": "second page", "csrfmiddlewaretoken": token.group(1)}
    posted = await client.post("/plugIt/form", data=data)
    assert "id='posted'>second page<" in posted.text
    assert (await client.post("/plugIt/form", headers={"X-CSRFToken": sent})).status_code == 200
    no_token = await client.get("/plugIt/ebuio_setUser?mode=log")
    assert csrf_cookie(no_token) is None
