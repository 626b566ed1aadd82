"""Rendering (section 4 steps 5-6), the layout, the menu and the switchers (section 7)."""

from __future__ import annotations

import re

import httpx

from plugit.testing import LiveServer

from .conftest import ProxyFactory, as_user


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf"id=['\"]{element_id}['\"][^>]*>(.*?)</", html, re.S)
    assert match, f"no #{element_id} in page"
    return match.group(1).strip()


async def test_page_is_rendered_inside_the_layout(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Home · PlugIt Test</title>" in html
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "Not signed in" in html
    assert text_of(html, "data") == "hi there"
    assert "<!--plugit:slot" not in html


async def test_context_holds_what_the_protocol_lists(proxy: httpx.AsyncClient) -> None:
    html = (await proxy.get("/plugIt/")).text
    assert text_of(html, "orga") == "EBU/zzebu/zzebu"
    assert text_of(html, "mode") == "ano real=False orgamode=True"
    # The action's JSON cannot override the proxy's own context.
    assert text_of(html, "base") == "/plugIt/|/plugIt/media/|/static/"
    assert text_of(html, "orgas") == "zzebu,chrts,gbbbc,uscnn,"


async def test_form_carries_the_csrf_token_of_the_cookie(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/")
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', response.text)
    assert token
    assert len(token.group(1)) == 64
    assert "csrftoken" in response.cookies


async def test_simulated_users(proxy: httpx.AsyncClient) -> None:
    expected = {"log": ("logged", "-1"), "mem": ("member", "-2"), "adm": ("admin", "-3")}
    for mode, (username, pk) in expected.items():
        await as_user(proxy, mode)
        html = (await proxy.get("/plugIt/")).text
        assert text_of(html, "hello") == f"Hello {username}"
        assert text_of(html, "uid") == f"id={pk} pk={pk}"
        assert f"Signed in as <strong>{username}</strong>" in html
    await as_user(proxy, "ano")
    assert text_of((await proxy.get("/plugIt/")).text, "hello") == "Hello stranger"


async def test_set_user_refuses_unknown_modes(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/ebuio_setUser?mode=root")
    assert response.status_code == 400
    assert "unknown user mode" in response.text


async def test_switchers_go_back_to_a_local_path_only(proxy: httpx.AsyncClient) -> None:
    back = await proxy.get("/plugIt/ebuio_setUser?mode=log&next=/plugIt/public")
    assert back.headers["location"] == "/plugIt/public"
    evil = await proxy.get("/plugIt/ebuio_setUser?mode=log&next=//evil.example/")
    assert evil.headers["location"] == "/plugIt/"


async def test_set_orga_switches_the_organisation(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/ebuio_setOrga?pk=-3&name=BBC")
    assert response.status_code == 302
    html = (await proxy.get("/plugIt/")).text
    assert text_of(html, "orga") == "BBC/gbbbc/gbbbc"
    await proxy.get("/plugIt/ebuio_setOrga?pk=-2&name=RTS")
    assert text_of((await proxy.get("/plugIt/")).text, "orga") == "RTS/chrts/chrts"


async def test_without_orga_mode_there_is_no_organisation(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, orga_mode=False)
    await handle.app.startup()
    html = (await handle.client.get("/plugIt/")).text
    assert text_of(html, "orga") == "//"
    assert text_of(html, "mode") == "ano real=False orgamode=False"
    assert "Organisation" not in html
    echoed = (await handle.client.get("/plugIt/echo")).json()
    assert "ebuio_orgapk" not in echoed["args"]


async def test_root_redirects_to_the_mount(proxy: httpx.AsyncClient) -> None:
    root = await proxy.get("/")
    assert root.status_code == 302
    assert root.headers["location"] == "/plugIt/"
    bare = await proxy.get("/plugIt")
    assert bare.headers["location"] == "/plugIt/"


async def test_bootstrap_is_served_locally(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/static/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200
    assert "Bootstrap" in response.text[:500]


async def test_unknown_page_is_a_404_inside_the_layout(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "plugit-header" in response.text


async def test_plugit_include_renders_other_templates_without_calling_them(
    proxy: httpx.AsyncClient,
) -> None:
    response = await proxy.get("/plugIt/include")
    assert response.status_code == 200
    assert "part shared" in response.text
    assert "deep shared" in response.text


async def test_plugit_get_user_loads_allowed_fields(proxy: httpx.AsyncClient) -> None:
    html = (await proxy.get("/plugIt/getuser")).text
    assert text_of(html, "owner") == "member|member@example.org|-2"
    assert text_of(html, "nobody") == "none"


async def test_url_target_blank(proxy: httpx.AsyncClient) -> None:
    html = (await proxy.get("/plugIt/blank")).text
    assert '<a target="_blank" rel="noopener noreferrer" href="https://example.org">x</a>' in html


async def test_no_template_is_the_whole_answer(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/notemplate")
    assert response.status_code == 200
    assert response.text == "<p id='bare'>bare 42</p>"


async def test_xml_only(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/xml")
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == "<thing>1</thing>"


async def test_json_only_type_follows_accept(proxy: httpx.AsyncClient) -> None:
    as_json = await proxy.get("/plugIt/etag", headers={"Accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json() == {"value": 1}
    plain = await proxy.get("/plugIt/etag", headers={"Accept": "text/html"})
    assert plain.headers["content-type"].startswith("text/plain")


async def test_menu_block_is_the_side_menu(proxy: httpx.AsyncClient) -> None:
    await as_user(proxy, "mem")
    html = (await proxy.get("/plugIt/menubar")).text
    assert 'aria-label="Service menu"' in html
    assert html.count("<ul id='menu'><li>Menu for member</li></ul>") == 1
    assert html.count("<html") == 1
    # Another page's template has no menubar block, so no menu: no menu action is called.
    assert "Service menu" not in (await proxy.get("/plugIt/public")).text


async def test_missing_menu_action_means_no_menu(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, menu_action="nomenu")
    await handle.app.startup()
    response = await handle.client.get("/plugIt/public")
    assert response.status_code == 200
    assert "Service menu" not in response.text


async def test_broken_menu_does_not_break_the_page(
    proxy_factory: ProxyFactory, demo_service: LiveServer
) -> None:
    handle = proxy_factory(demo_service.url, menu_action="broken")
    await handle.app.startup()
    response = await handle.client.get("/plugIt/public")
    assert response.status_code == 200
    assert "public page" in response.text
    assert "Service menu" not in response.text


async def test_media_is_streamed_with_its_headers(proxy: httpx.AsyncClient) -> None:
    response = await proxy.get("/plugIt/media/style.css")
    assert response.status_code == 200
    assert response.text == "body { color: red; }"
    assert response.headers["content-type"].startswith("text/css")
    assert "max-age" in response.headers["cache-control"]
    assert (await proxy.get("/plugIt/media/nothing.css")).status_code == 404
