"""What the proxy sends with an action call (section 3) and does with the answer (section 4)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from plugit.testing import LiveServer
from plugit_proxy.config import Project, ProxyConfig

from .conftest import ProxyFactory, as_user, fresh_cache


async def csrf_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/plugIt/")
    found = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', page.text)
    assert found
    return found.group(1)


async def test_browser_parameters_are_forwarded_without_ebuio(proxy: httpx.AsyncClient) -> None:
    query = "a=1&a=2&b=x&ebuio_u_username=evil&ebuio_orgapk=999&ebuio_admin=True"
    echoed = (await proxy.get(f"/plugIt/echo?{query}")).json()
    assert echoed["method"] == "GET"
    assert echoed["args"] == {"a": ["1", "2"], "b": ["x"], "ebuio_orgapk": ["-1"]}


async def test_form_fields_and_files_are_forwarded_without_ebuio(proxy: httpx.AsyncClient) -> None:
    token = await csrf_token(proxy)
    form = {"csrfmiddlewaretoken": token, "f": ["1", "2"], "ebuio_u_pk": "-3"}
    echoed = (await proxy.post("/plugIt/echo?q=1", data=form)).json()
    assert echoed["method"] == "POST"
    assert echoed["form"]["f"] == ["1", "2"]
    assert echoed["form"]["ebuio_orgapk"] == ["-1"]
    assert "ebuio_u_pk" not in echoed["form"]
    assert echoed["args"] == {"q": ["1"]}
    files = {"upload": ("a.txt", b"file body", "text/plain")}
    echoed = (await proxy.post("/plugIt/echo", data=form, files=files)).json()
    assert echoed["files"] == {"upload": "file body"}
    assert echoed["form"]["f"] == ["1", "2"]


async def test_other_methods_reach_the_action(proxy: httpx.AsyncClient) -> None:
    token = await csrf_token(proxy)
    headers = {"X-CSRFToken": token}
    assert (await proxy.put("/plugIt/echo", headers=headers, data={"a": "1"})).json()[
        "method"
    ] == "PUT"
    assert (await proxy.delete("/plugIt/echo", headers=headers)).json()["method"] == "DELETE"


async def test_proxy_parameters_go_to_the_query_except_on_post(proxy: httpx.AsyncClient) -> None:
    # docs/protocol.md §3: the form on a POST, the query string otherwise; PUT is not a POST.
    headers = {"X-CSRFToken": await csrf_token(proxy)}
    echoed = (await proxy.put("/plugIt/echo", headers=headers, data={"a": "1"})).json()
    assert echoed["args"] == {"ebuio_orgapk": ["-1"]}
    assert echoed["form"] == {"a": ["1"]}


async def test_user_fields_on_get(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "adm")
    sent = (await proxy.get("/plugIt/userinfo?ebuio_u_username=evil")).json()
    assert sent == {
        "ebuio_u_username": "admin",
        "ebuio_u_id": "-3",
        "ebuio_u_ebuio_admin": "True",
        "ebuio_u_ebuio_orga_member": "True",
        "ebuio_u_email": "admin@example.org",
        "ebuio_orgapk": "-1",
    }
    await as_user(proxy, "log")
    sent = (await proxy.get("/plugIt/userinfo")).json()
    assert sent["ebuio_u_ebuio_admin"] == "False"


async def test_user_fields_on_post_go_in_the_form(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "mem")
    token = await csrf_token(proxy)
    sent = (await proxy.post("/plugIt/userinfo_post", data={"csrfmiddlewaretoken": token})).json()
    assert sent["form"]["ebuio_u_username"] == "member"
    assert "ebuio_u_username" not in sent["args"]


async def test_user_field_outside_the_allow_list_is_an_error_page(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/badfield")
    assert response.status_code == 500
    assert "'password'" in html.unescape(response.text)
    assert "Configuration error" in response.text


async def test_allow_list_is_per_project(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, user_fields=("username",))
    await handle.app.startup()
    response = await handle.client.get("/plugIt/userinfo")
    assert response.status_code == 500
    assert "'id'" in html.unescape(response.text)


async def test_browser_headers_are_forwarded_renamed(proxy: httpx.AsyncClient) -> None:
    headers = {"If-None-Match": '"abc"', "Origin": "http://testserver"}
    echoed = (await proxy.get("/plugIt/echo", headers=headers)).json()
    assert echoed["inm"] == '"abc"'
    assert echoed["origin"] == "http://testserver"
    assert echoed["remote"] == "127.0.0.1"


async def test_redirects(proxy: httpx.AsyncClient) -> None:
    prefixed = await proxy.get("/plugIt/redirect")
    assert prefixed.status_code == 302
    assert prefixed.headers["location"] == "/plugIt/public"
    absolute = await proxy.get("/plugIt/redirect_abs")
    assert absolute.headers["location"] == "https://example.org/x"


async def test_files(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/file")
    assert response.status_code == 200
    assert response.content == b"the report"
    assert response.headers["content-type"].startswith("text/plain")
    assert "attachment" in response.headers["content-disposition"]
    assert "report.txt" in response.headers["content-disposition"]


async def test_session_keys_come_back_to_the_service(proxy: httpx.AsyncClient) -> None:
    assert (await proxy.get("/plugIt/getsession")).json() == {}
    assert (await proxy.get("/plugIt/setsession")).json() == {"stored": True}
    assert (await proxy.get("/plugIt/getsession")).json() == {"color": "blue"}


async def test_session_keys_are_kept_per_project(demo_service: LiveServer) -> None:
    from plugit_proxy.asgi import build_application

    url = demo_service.url
    config = ProxyConfig(
        projects=(
            Project(key="a", name="A", mount="/a/", service_urls=(url,)),
            Project(key="b", name="B", mount="/b/", service_urls=(url,)),
        )
    )
    app = build_application(config, cache=fresh_cache())
    await app.startup()
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/a/setsession")
        assert (await client.get("/a/getsession")).json() == {"color": "blue"}
        assert (await client.get("/b/getsession")).json() == {}
    await app.shutdown()


async def test_etag_and_cors_headers_are_passed(proxy: httpx.AsyncClient) -> None:
    assert (await proxy.get("/plugIt/etag")).headers["etag"] == '"v1"'
    cors = await proxy.get("/plugIt/cors")
    assert cors.headers["access-control-allow-origin"] == "https://other.example"
    assert cors.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert cors.headers["access-control-allow-headers"] == "X-THING"


async def test_options_is_an_empty_answer_with_the_cors_headers(proxy: httpx.AsyncClient) -> None:
    headers = {"Origin": "https://other.example", "Access-Control-Request-Method": "GET"}
    response = await proxy.options("/plugIt/cors", headers=headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "https://other.example"
    assert response.headers["access-control-max-age"] == "21600"


@pytest.mark.parametrize("status", [401, 403, 404, 429])
async def test_pass_through_statuses(proxy: httpx.AsyncClient, status: int) -> None:
    response = await proxy.get(f"/plugIt/abort/{status}")
    assert response.status_code == status
    assert "plugit-header" in response.text


async def test_not_modified_passes(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/abort/304")
    assert response.status_code == 304
    assert response.content == b""


async def test_other_statuses_become_404(proxy: httpx.AsyncClient) -> None:
    assert (await proxy.get("/plugIt/abort/418")).status_code == 404
    assert (await proxy.get("/plugIt/abort/400")).status_code == 404


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_service_gateway_statuses_become_404(proxy: httpx.AsyncClient, status: int) -> None:
    # The service answered: its own 502/503/504 is "any other non-200" (docs/protocol.md §4), not
    # the proxy's failure to reach it.
    response = await proxy.get(f"/plugIt/abort/{status}")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_action_failure_is_a_500_page(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/raise")
    assert response.status_code == 500
    assert "Service error" in response.text
    assert "Traceback" not in response.text
    assert "plugit-header" in response.text
