"""Proxy mode (section 5): the request goes to the same path; HTML comes back into the layout."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from plugit.protocol import CSRF_TOKEN_PLACEHOLDER
from plugit.testing import LiveServer
from plugit_proxy.config import UpstreamConfig

from .conftest import ProxyFactory, as_user


async def page(request: Request) -> Response:
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{CSRF_TOKEN_PLACEHOLDER}">'
    form = f'<form method="post">{field}</form>'
    return HTMLResponse(f"<h1 id='title'>Proxied {request.url.path}</h1>{form}")


async def headers(request: Request) -> Response:
    seen = {k: v for k, v in request.headers.items() if k.startswith("x-plugit")}
    return JSONResponse({"headers": seen, "query": dict(request.query_params.multi_items())})


async def bare(request: Request) -> Response:
    # The token's field straddles the first 64 KiB chunk the proxy reads.
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{CSRF_TOKEN_PLACEHOLDER}">'
    body = ("x" * 65500) + field + "<p>end</p>"
    return HTMLResponse(body, headers={"EbuIo-PlugIt-NoTemplate": "1"})


async def post(request: Request) -> Response:
    form = await request.form()
    return HTMLResponse(f"<p id='got'>{form.get('thing')}</p>")


async def redirect(request: Request) -> Response:
    return Response(
        headers={"EbuIo-PlugIt-Redirect": "somewhere", "EbuIo-PlugIt-SetSession-k": "v"}
    )


async def session(request: Request) -> Response:
    return JSONResponse({"k": request.headers.get("x-plugitsession-k"), "cookie": request.cookies})


async def failing(request: Request) -> Response:
    return Response("nope", status_code=500)


def proxied_app() -> Starlette:
    routes = [
        Route("/", page),
        Route("/deep/page", page),
        Route("/headers", headers),
        Route("/bare", bare),
        Route("/post", post, methods=["POST"]),
        Route("/redirect", redirect),
        Route("/session", session),
        Route("/failing", failing),
    ]
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def proxied() -> Iterator[LiveServer]:
    with LiveServer(proxied_app()) as server:
        yield server


async def open_proxy(proxy_factory: ProxyFactory, proxied: LiveServer) -> Any:
    handle = proxy_factory(proxied.url, proxy_mode=True)
    await handle.app.startup()
    return handle.client


async def test_html_goes_into_the_layout_with_the_token(
    proxy_factory: ProxyFactory, proxied: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, proxied)
    response = await client.get("/plugIt/deep/page")
    assert response.status_code == 200
    assert "<h1 id='title'>Proxied /deep/page</h1>" in response.text
    assert "plugit-header" in response.text
    assert CSRF_TOKEN_PLACEHOLDER not in response.text
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', response.text)
    assert token
    assert len(token.group(1)) == 64
    posted = await client.post(
        "/plugIt/post", data={"thing": "x", "csrfmiddlewaretoken": token.group(1)}
    )
    assert "<p id='got'>x</p>" in posted.text


async def test_html_goes_into_the_project_layout(
    proxy_factory: ProxyFactory, proxied: LiveServer
) -> None:
    client = proxy_factory(proxied.url, live=True, proxy_mode=True, layout="legacy").client
    response = await client.get("/plugIt/deep/page")
    assert response.status_code == 200
    assert "<h1 id='title'>Proxied /deep/page</h1>" in response.text
    assert '<script src="/static/jquery/jquery.min.js">' in response.text
    assert "/static/bootstrap3/css/bootstrap.min.css" in response.text
    assert 'data-toggle="dropdown"' in response.text
    assert "data-bs-toggle" not in response.text


async def test_no_template_answer_is_streamed_alone(
    proxy_factory: ProxyFactory, proxied: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, proxied)
    response = await client.get("/plugIt/bare")
    assert response.text.startswith("x" * 65500)
    assert response.text.endswith("<p>end</p>")
    assert CSRF_TOKEN_PLACEHOLDER not in response.text
    assert "plugit-header" not in response.text
    assert client.cookies["csrftoken"]


async def test_user_and_organisation_headers(
    proxy_factory: ProxyFactory, proxied: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, proxied)
    await as_user(client, "adm")
    seen = (await client.get("/plugIt/headers?a=1&ebuio_u_username=evil")).json()
    sent = seen["headers"]
    assert sent["x-plugit-user-username"] == "admin"
    assert sent["x-plugit-user-first-name"] == "Admin"
    assert sent["x-plugit-user-id"] == "-3"
    assert sent["x-plugit-user-ebuio-admin"] == "True"
    assert sent["x-plugit-orga-pk"] == "-1"
    assert sent["x-plugit-orga-name"] == "EBU"
    assert sent["x-plugit-orga-codops"] == "zzebu"
    assert sent["x-plugit-base-url"] == "/plugIt/"
    assert sent["x-plugit-remote-addr"] == "127.0.0.1"
    assert seen["query"] == {"a": "1", "ebuio_orgapk": "-1"}


async def test_redirects_and_sessions(proxy_factory: ProxyFactory, proxied: LiveServer) -> None:
    client = await open_proxy(proxy_factory, proxied)
    response = await client.get("/plugIt/redirect")
    assert response.status_code == 302
    assert response.headers["location"] == "/plugIt/somewhere"
    assert (await client.get("/plugIt/session")).json() == {"k": "v", "cookie": {"k": "v"}}


async def test_service_failure_is_a_500_page(
    proxy_factory: ProxyFactory, proxied: LiveServer
) -> None:
    client = await open_proxy(proxy_factory, proxied)
    response = await client.get("/plugIt/failing")
    assert response.status_code == 500
    assert "plugit-header" in response.text


async def test_post_needs_the_token(proxy_factory: ProxyFactory, proxied: LiveServer) -> None:
    client = await open_proxy(proxy_factory, proxied)
    assert (await client.post("/plugIt/post", data={"thing": "x"})).status_code == 403


class PlainHandler(BaseHTTPRequestHandler):
    """A service on Python's http.server: it reads Content-Length and knows no chunked body."""

    def do_GET(self) -> None:
        self._answer(
            200,
            f'<form method="post"><input name="csrfmiddlewaretoken" '
            f'value="{CSRF_TOKEN_PLACEHOLDER}"></form>',
        )

    def do_POST(self) -> None:
        self._echo()

    do_PUT = do_PATCH = do_POST

    def _echo(self) -> None:
        if "Transfer-Encoding" in self.headers or "Content-Length" not in self.headers:
            self._answer(400, "<p>no Content-Length</p>")
            return
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        fields = parse_qs(body)
        shown = ";".join(f"{name}={values}" for name, values in sorted(fields.items()))
        self._answer(200, f"<p id='got'>{self.command} {shown}</p>")

    def _answer(self, status: int, html: str) -> None:
        data = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def plain_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PlainHandler)
    thread = threading.Thread(target=server.serve_forever, name="plain-service")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_forwarded_body_has_a_content_length(
    proxy_factory: ProxyFactory, plain_service: str, method: str
) -> None:
    handle = proxy_factory(plain_service, proxy_mode=True, live=True)
    client = handle.client
    token = re.search(r'value="(\w{64})"', (await client.get("/plugIt/form")).text)
    assert token
    form = {"thing": "été & co", "many": ["1", "2"], "csrfmiddlewaretoken": token.group(1)}
    response = await client.request(method, "/plugIt/form", data=form)
    assert response.status_code == 200
    got = re.search(r"<p id='got'>(.*?)</p>", response.text)
    assert got
    assert got.group(1) == (
        f"{method} csrfmiddlewaretoken=['{token.group(1)}'];many=['1', '2'];thing=['été & co']"
    )


async def test_too_large_body_is_refused(proxy_factory: ProxyFactory, plain_service: str) -> None:
    limits = UpstreamConfig(connect_timeout=1.0, timeout=2.0, max_body=1000)
    handle = proxy_factory(plain_service, proxy_mode=True, live=True, upstream=limits)
    client = handle.client
    token = re.search(r'value="(\w{64})"', (await client.get("/plugIt/form")).text)
    assert token
    headers = {"X-CSRFToken": token.group(1), "Content-Type": "text/plain"}
    response = await client.post("/plugIt/form", content=b"x" * 5000, headers=headers)
    assert response.status_code == 413
    assert "exceeds 1000 bytes" in response.text
