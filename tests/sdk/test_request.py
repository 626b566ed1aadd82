"""The request an action receives: Flask's names and semantics, on top of Starlette."""

from __future__ import annotations

import io

import httpx
import pytest

from plugit import Request, Service
from plugit.request import MissingParameter, MultiDict

from .helpers import make_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("request"))

    @service.action("/echo", methods=["GET", "POST", "PUT"])
    def echo(request: Request) -> dict[str, object]:
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "form": request.form.to_dict(flat=False),
            "first_a": request.args.get("a"),
            "first_f": request.form.get("f"),
            "getlist_a": request.args.getlist("a"),
            "getlist_f": request.form.getlist("f"),
            "int_n": request.args.get("n", type=int),
            "default": request.args.get("absent", "fallback"),
            "values": request.values.to_dict(flat=False),
            "header": request.headers.get("X-Custom"),
            "header_case": request.headers.get("x-CUSTOM"),
            "remote_addr": request.remote_addr,
            "cookies": request.cookies,
            "path": request.path,
        }

    @service.action("/upload", methods=["POST"])
    def upload(request: Request) -> dict[str, object]:
        files = {}
        for name, upload in request.files.items(multi=True):
            first = upload.read()
            upload.stream.seek(0)
            files.setdefault(name, []).append(
                {
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "read": first.decode("latin-1"),
                    "stream": upload.stream.read().decode("latin-1"),
                }
            )
        return {"files": files, "field": request.form.get("field")}

    @service.action("/required", methods=["GET", "POST"])
    def required(request: Request) -> dict[str, str]:
        return {"value": request.form["missing"]}

    @service.action("/required-arg")
    def required_arg(request: Request) -> dict[str, str]:
        return {"value": request.args["q"]}

    @service.action("/json", methods=["POST"])
    def body_json(request: Request) -> dict[str, object]:
        return {"json": request.json, "data": request.data.decode()}

    return service


async def test_query_arguments_multi_valued(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/echo?a=1&a=2&b=x&n=7&empty=")
    data = answer.json()
    assert data["method"] == "GET"
    assert data["args"] == {"a": ["1", "2"], "b": ["x"], "n": ["7"], "empty": [""]}
    assert data["first_a"] == "1"
    assert data["getlist_a"] == ["1", "2"]
    assert data["int_n"] == 7
    assert data["default"] == "fallback"
    assert data["form"] == {}


async def test_form_fields_multi_valued(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/echo?a=q", data={"f": ["1", "2"], "g": "é"})
    data = answer.json()
    assert data["method"] == "POST"
    assert data["form"] == {"f": ["1", "2"], "g": ["é"]}
    assert data["first_f"] == "1"
    assert data["getlist_f"] == ["1", "2"]
    assert data["args"] == {"a": ["q"]}
    assert data["values"] == {"a": ["q"], "f": ["1", "2"], "g": ["é"]}


async def test_multipart_form_fields(client: httpx.AsyncClient) -> None:
    answer = await client.put(
        "/action/echo", data={"f": ["x", "y"]}, files={"up": ("a.txt", b"abc")}
    )
    assert answer.json()["form"] == {"f": ["x", "y"]}
    assert answer.json()["method"] == "PUT"


async def test_headers_cookies_path_remote_addr(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/action/echo", headers={"X-Custom": "yes", "Cookie": "sid=abc; Theme=dark"}
    )
    data = answer.json()
    assert data["header"] == data["header_case"] == "yes"
    assert data["cookies"] == {"sid": "abc", "Theme": "dark"}
    assert data["remote_addr"] == "127.0.0.1"
    assert data["path"] == "/action/echo"


async def test_uploads_have_filename_stream_and_read(client: httpx.AsyncClient) -> None:
    files = [
        ("doc", ("report.txt", b"first file", "text/plain")),
        ("doc", ("second.bin", b"second", "application/octet-stream")),
        ("pic", ("p.png", io.BytesIO(b"\x89PNG fake"), "image/png")),
    ]
    answer = await client.post("/action/upload", files=files, data={"field": "v"})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["field"] == "v"
    assert data["files"]["doc"] == [
        {
            "filename": "report.txt",
            "content_type": "text/plain",
            "read": "first file",
            "stream": "first file",
        },
        {
            "filename": "second.bin",
            "content_type": "application/octet-stream",
            "read": "second",
            "stream": "second",
        },
    ]
    assert data["files"]["pic"][0]["filename"] == "p.png"


@pytest.mark.parametrize("path", ["/action/required", "/action/required-arg"])
async def test_missing_parameter_is_400_not_500(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 400
    assert "missing" in answer.json()["error"] or "'q'" in answer.json()["error"]


async def test_missing_form_field_on_post_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/required", data={"other": "1"})
    assert answer.status_code == 400


async def test_json_body(client: httpx.AsyncClient) -> None:
    answer = await client.post("/action/json", json={"k": [1, 2]})
    assert answer.json() == {"json": {"k": [1, 2]}, "data": answer.request.content.decode()}
    answer = await client.post("/action/json", content=b"plain", headers={"Content-Type": "x/y"})
    assert answer.json() == {"json": None, "data": "plain"}


async def test_malformed_json_body_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/action/json", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400


def test_multidict_semantics() -> None:
    data = MultiDict([("a", "1"), ("b", "x"), ("a", "2")])
    assert data["a"] == "1"
    assert data.get("a") == "1"
    assert data.getlist("a") == ["1", "2"]
    assert data.getlist("a", type=int) == [1, 2]
    assert data.getlist("b", type=int) == []
    assert data.get("b", 5, type=int) == 5
    assert data.get("zzz") is None
    assert list(data) == ["a", "b"]
    assert len(data) == 2
    assert "a" in data
    assert "zzz" not in data
    assert list(data.items()) == [("a", "1"), ("b", "x")]
    assert list(data.items(multi=True)) == [("a", "1"), ("a", "2"), ("b", "x")]  # as Werkzeug
    assert dict(data.lists()) == {"a": ["1", "2"], "b": ["x"]}
    with pytest.raises(MissingParameter) as error:
        data["zzz"]
    assert isinstance(error.value, KeyError)  # `except KeyError` in old services still works
    assert error.value.status_code == 400
