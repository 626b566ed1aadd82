"""`GET template<route>` (raw template text) and `GET media/<path>` (static files)."""

from __future__ import annotations

import httpx
import pytest

from plugit import Service, Settings

from .conftest import ConnectFn, ServeFn
from .helpers import TEMPLATE_TEXT, asgi_request, http_request, make_service, raw_http


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("tpl"))
    service.action("/", template="home.html")(lambda request: {})
    service.action("/nested/<int:pk>", template="sub/nested.html")(lambda request, pk: {})
    service.action("/none")(lambda request: {})
    service.action("/missing", template="missing.html")(lambda request: {})
    service.action("/escape", template="../config.py")(lambda request: {})
    return service


async def test_template_is_raw_text(client: httpx.AsyncClient) -> None:
    answer = await client.get("/template/")
    assert answer.status_code == 200
    assert answer.text == TEMPLATE_TEXT  # not JSON, not rendered
    assert answer.headers["content-type"].startswith("text/plain")


async def test_template_of_route_with_variables(client: httpx.AsyncClient) -> None:
    answer = await client.get("/template/nested/3")
    assert answer.status_code == 200
    assert answer.content == "nested ✓\n".encode()


@pytest.mark.parametrize("route", ["/unknown", "/none", "/missing", "/escape", "/nested/x"])
async def test_template_404s(client: httpx.AsyncClient, route: str) -> None:
    answer = await client.get("/template" + route)
    assert answer.status_code == 404
    assert "SECRET" not in answer.text


async def test_media_file_with_cache_control(client: httpx.AsyncClient) -> None:
    answer = await client.get("/media/css/site.css")
    assert answer.status_code == 200
    assert answer.text == "body { color: red; }\n"
    assert answer.headers["content-type"].startswith("text/css")
    assert answer.headers["cache-control"] == "public, max-age=3600"


async def test_media_missing_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/media/nope.css")).status_code == 404
    assert (await client.get("/media/css")).status_code == 404


async def test_media_cache_in_debug_and_configured(connect: ConnectFn, tmp_path) -> None:
    debug = make_service(tmp_path / "debug", debug=True)
    configured = make_service(tmp_path / "conf", media_max_age=60)
    answer = await connect(debug).get("/media/logo.txt")
    assert answer.headers["cache-control"] == "no-cache"
    answer = await connect(configured).get("/media/logo.txt")
    assert answer.headers["cache-control"] == "public, max-age=60"


async def test_service_without_media_folder_answers_404(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings())
    assert (await connect(service).get("/media/anything.css")).status_code == 404


async def test_media_and_version_are_not_guarded(connect: ConnectFn, tmp_path) -> None:
    service = make_service(tmp_path, allowed_networks=("10.0.0.0/8",))
    client = connect(service)
    assert (await client.get("/media/logo.txt")).status_code == 200
    assert (await client.get("/version")).status_code == 200
    assert (await client.get("/template/")).status_code == 404


TRAVERSALS = [
    "/media/../config.py",
    "/media/%2e%2e/config.py",
    "/media/..%2fconfig.py",
    "/media/css/../../config.py",
    "/media/%2E%2E/%2E%2E/etc/passwd",
    "/template/../config.py",
    "/template/%2e%2e/config.py",
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_traversal_over_a_socket_is_404(service: Service, live: ServeFn, path: str) -> None:
    server = live(service)
    answer = await raw_http(server.host, server.port, http_request("GET", path))
    assert answer.status == 404
    assert b"SECRET" not in answer.body


@pytest.mark.parametrize("path", ["/media/../config.py", "/media/css/../../config.py"])
async def test_traversal_in_process_is_404(service: Service, path: str) -> None:
    answer = await asgi_request(service, "GET", path)
    assert answer.status == 404
    assert b"SECRET" not in answer.body


async def test_encoded_traversal_in_process_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/media/%2e%2e/config.py")
    assert answer.status_code == 404
    assert "SECRET" not in answer.text
