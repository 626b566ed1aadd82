"""The two page layouts: modern (Bootstrap 5) and legacy (Bootstrap 3 and jQuery, from packages).

A service written in the original's style fills every block the original's layout had; both
layouts must show each of them, and the legacy one must serve jQuery and Bootstrap 3 itself.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugit import Service
from plugit.exceptions import ConfigurationError
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit_proxy.cli import configuration_from_args, register
from plugit_proxy.config import Project

from .conftest import ProxyFactory

# Each block says its name once, so the page shows where (and whether) it went.
ORIGINAL_STYLE = """{% extends "plugIt/base.html" %}
{% block title %}title-block{% endblock %}
{% block css %}<style id="css-block">.x{}</style>{% endblock %}
{% block extra_head %}<meta name="extra-head-block">{% endblock %}
{% block javascript %}<script id="javascript-block">$(function () {
  $("#content-block").addClass("ready");
});</script>{% endblock %}
{% block nav_block %}<ol class="breadcrumb" id="nav-block"><li>nav</li></ol>{% endblock %}
{% block pretitle %}<p id="pretitle-block">pretitle</p>{% endblock %}
{% block menubar %}<ul class="nav nav-pills nav-stacked" id="menubar-block"><li>menu</li></ul>
{% endblock %}
{% block content %}<div class="well" id="content-block">
  <a class="btn btn-default"><span class="glyphicon glyphicon-ok"></span> ok</a>
  <div class="panel panel-default"><div class="panel-body">{{ text }}</div></div>
</div>{% endblock %}
"""
PAGE_HELPER = "/static/plugit_proxy/plugit.js"  # plugit.socket(), in every layout
BLOCK_MARKS = [
    "<title>title-block",
    'id="css-block"',
    'name="extra-head-block"',
    'id="javascript-block"',
    'id="nav-block"',
    'id="pretitle-block"',
    'id="menubar-block"',
    'id="content-block"',
]


def original_style_service(root: Path) -> Service:
    (root / "templates").mkdir(parents=True)
    (root / "templates" / "page.html").write_text(ORIGINAL_STYLE)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))

    @svc.action("/", template="page.html")
    def page(request: Any) -> dict[str, Any]:
        return {"text": "from the action"}

    return svc


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(original_style_service(tmp_path_factory.mktemp("layouts"))) as server:
        yield server


async def page_in(layout: str, proxy_factory: ProxyFactory, service: LiveServer) -> str:
    client = proxy_factory(service.url, live=True, layout=layout).client
    response = await client.get("/plugIt/")
    assert response.status_code == 200
    return response.text


def script_sources(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', html)


@pytest.mark.parametrize("layout", ["modern", "legacy"])
async def test_every_block_of_the_original_layout_is_shown_once(
    layout: str, proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    html = await page_in(layout, proxy_factory, service)
    for mark in BLOCK_MARKS:
        assert html.count(mark) == 1, f"{mark} in the {layout} layout"
    main = re.search(r"<main [^>]*>(.*?)</main>", html, re.S)
    assert main
    # pretitle and nav_block come with the page, before its content; the menu does not.
    content = main.group(1)
    assert content.index("nav-block") < content.index("pretitle-block")
    assert content.index("pretitle-block") < content.index("content-block")
    assert "menubar-block" not in content
    assert "from the action" in content


async def test_legacy_layout_loads_jquery_then_bootstrap_3_then_the_page_scripts(
    proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    html = await page_in("legacy", proxy_factory, service)
    assert script_sources(html) == [
        PAGE_HELPER,
        "/static/jquery/jquery.min.js",
        "/static/bootstrap3/js/bootstrap.min.js",
    ]
    jquery = html.index("/static/jquery/jquery.min.js")
    bootstrap = html.index("/static/bootstrap3/js/bootstrap.min.js")
    assert jquery < bootstrap < html.index('id="javascript-block"')
    assert jquery < html.index('id="content-block"')  # inline scripts in the content may use $
    assert '<link rel="stylesheet" href="/static/bootstrap3/css/bootstrap.min.css">' in html
    assert html.index("bootstrap3/css/bootstrap.min.css") < html.index('id="css-block"')
    assert 'data-toggle="dropdown"' in html  # the header speaks Bootstrap 3
    assert "bootstrap/css/bootstrap.min.css" not in html.replace("bootstrap3/css", "")


async def test_modern_layout_is_bootstrap_5_without_jquery(
    proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    html = await page_in("modern", proxy_factory, service)
    assert script_sources(html) == [PAGE_HELPER, "/static/bootstrap/js/bootstrap.bundle.min.js"]
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "data-bs-toggle" in html
    assert "jquery" not in html.lower()


@pytest.mark.parametrize("layout", ["modern", "legacy"])
async def test_both_layouts_give_pages_the_socket_helper(
    proxy_factory: ProxyFactory, service: LiveServer, layout: str
) -> None:
    """`plugit.socket` (static/plugit_proxy/plugit.js), told the service's mount."""
    html = await page_in(layout, proxy_factory, service)
    assert f'<script src="{PAGE_HELPER}" data-plugit-base="/plugIt/"></script>' in html
    client = proxy_factory(service.url, live=True, layout=layout).client
    helper = await client.get(PAGE_HELPER)
    assert helper.status_code == 200
    assert "window.plugit.socket = socket;" in helper.text


async def test_legacy_assets_are_served_from_the_packages(
    proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    client = proxy_factory(service.url, live=True, layout="legacy").client
    jquery = await client.get("/static/jquery/jquery.min.js")
    assert jquery.status_code == 200
    assert "javascript" in jquery.headers["content-type"]
    assert "jQuery v3.7" in jquery.text[:200]
    script = await client.get("/static/bootstrap3/js/bootstrap.min.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "Bootstrap v3.4.1" in script.text[:200]
    css = await client.get("/static/bootstrap3/css/bootstrap.min.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "Bootstrap v3.4.1" in css.text[:200]
    for rule in (".well{", ".btn-default{", ".panel{", ".glyphicon{", ".glyphicon-ok:before{"):
        assert rule in css.text, rule
    fonts = re.findall(r'url\("?([^")?#]+\.woff2)', css.text)
    assert fonts
    font = await client.get(httpx.URL(str(css.url)).join(fonts[0]))
    assert font.status_code == 200
    assert font.headers["content-type"] == "font/woff2"
    assert font.content[:4] == b"wOF2"


async def test_an_error_page_of_a_legacy_project_is_whole(
    proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    client = proxy_factory(service.url, live=True, layout="legacy").client
    response = await client.get("/plugIt/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "<!--plugit:slot" not in response.text


async def test_a_legacy_project_shows_its_error_pages_in_the_legacy_layout(
    proxy_factory: ProxyFactory, service: LiveServer
) -> None:
    client = proxy_factory(service.url, live=True, layout="legacy").client
    response = await client.get("/plugIt/no/such/page")
    assert response.status_code == 404
    html = response.text
    assert script_sources(html) == [
        PAGE_HELPER,
        "/static/jquery/jquery.min.js",
        "/static/bootstrap3/js/bootstrap.min.js",
    ]
    assert "/static/bootstrap3/css/bootstrap.min.css" in html
    assert 'data-toggle="dropdown"' in html  # the legacy header, not Bootstrap 5's
    assert "data-bs-toggle" not in html


def test_unknown_layout_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="'bootstrap3'"):
        Project(key="x", name="x", mount="/x/", service_urls=("http://a",), layout="bootstrap3")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="plugit")
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_layout_flag_and_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def layout(argv: list[str]) -> str:
        return configuration_from_args(parse(argv)).standalone.layout

    monkeypatch.delenv("PLUGIT_LAYOUT", raising=False)
    assert layout(["proxy"]) == "modern"
    assert layout(["proxy", "--layout", "legacy"]) == "legacy"
    monkeypatch.setenv("PLUGIT_LAYOUT", "Legacy")
    assert layout(["proxy"]) == "legacy"
    assert layout(["proxy", "--layout", "modern"]) == "modern"  # the flag wins
    with pytest.raises(SystemExit):
        parse(["proxy", "--layout", "bootstrap3"])
    assert "'bootstrap3'" in capsys.readouterr().err
    monkeypatch.setenv("PLUGIT_LAYOUT", "fancy")
    with pytest.raises(ConfigurationError, match="PLUGIT_LAYOUT='fancy'"):
        layout(["proxy"])
