"""What an action returns, and what goes on the wire (docs/protocol.md §2, the result table)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from plugit import Abort, Redirect, Request, SendFile, Service, SetSession, abort
from plugit.utils import PlugItRedirect, PlugItSendFile, PlugItSetSession

from .helpers import make_service

PASS_THROUGH = [304, 401, 403, 404, 429]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    root = tmp_path_factory.mktemp("results")
    service = make_service(root)
    report = str(root / "files" / "report.csv")
    results = {
        "dict": {"answer": 42, "nested": {"list": [1, "two", None, True]}},
        "list": [1, 2, {"three": 3}],
        "empty": {},
        "none": None,
        "redirect": PlugItRedirect("/somewhere?x=1"),
        "redirect-no-prefix": PlugItRedirect("https://example.org/", no_prefix=True),
        "file": PlugItSendFile(report, "text/csv"),
        "attachment": PlugItSendFile(report, "text/csv", as_attachment=True),
        "attachment-named": PlugItSendFile(
            report, "text/csv", as_attachment=True, attachment_filename="export.csv"
        ),
        "attachment-unicode": PlugItSendFile(
            report, "text/csv", as_attachment=True, attachment_filename="rés umé.csv"
        ),
        "session-dict": PlugItSetSession({"x": 1}, {"user_key": "v1", "Other": "v 2"}),
        "session-redirect": PlugItSetSession(PlugItRedirect("/next"), {"k": "v"}),
        "session-file": PlugItSetSession(PlugItSendFile(report, "text/csv"), {"k": "v"}),
        "session-empty": PlugItSetSession({}, {"k": ""}),
        "missing-file": PlugItSendFile(str(root / "nope.bin"), "application/octet-stream"),
    }

    @service.action("/result/<kind>")
    def result(request: Request, kind: str) -> object:
        return results[kind]

    @service.action("/session-without-values")
    def session_without_values(request: Request) -> PlugItSetSession:
        return PlugItSetSession(PlugItRedirect("/next"))

    @service.action("/session-filled-later/<value>")
    def session_filled_later(request: Request, value: str) -> PlugItSetSession:
        answer = PlugItSetSession({"filled": True})
        answer.things_to_set["theme"] = value.replace("_", "\n")
        return answer

    @service.action("/abort/<int:status>")
    def aborting(request: Request, status: int) -> None:
        abort(status)

    @service.action("/raise")
    def raising(request: Request) -> None:
        raise RuntimeError("secret internal detail")

    @service.action("/raise-async")
    async def raising_async(request: Request) -> None:
        raise ValueError("another secret detail")

    @service.action("/raise-abort-class")
    def raise_abort(request: Request) -> None:
        raise Abort(429, "slow down")

    return service


async def test_dict_is_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/dict")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"answer": 42, "nested": {"list": [1, "two", None, True]}}


async def test_list_is_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/list")
    assert answer.json() == [1, 2, {"three": 3}]


@pytest.mark.parametrize("kind", ["empty", "none"])
async def test_empty_result_means_no_data(client: httpx.AsyncClient, kind: str) -> None:
    answer = await client.get(f"/action/result/{kind}")
    assert answer.status_code == 200
    assert answer.json() == {}


async def test_redirect(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/redirect")
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["EbuIo-PlugIt-Redirect"] == "/somewhere?x=1"
    assert "EbuIo-PlugIt-Redirect-NoPrefix" not in answer.headers


async def test_redirect_without_prefix(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/redirect-no-prefix")
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["EbuIo-PlugIt-Redirect"] == "https://example.org/"
    assert answer.headers["EbuIo-PlugIt-Redirect-NoPrefix"] == "True"


async def test_send_file_inline(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/file")
    assert answer.status_code == 200
    assert answer.content == b"a,b\n1,2\n"
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["EbuIo-PlugIt-ItAFile"] == "True"
    assert "content-disposition" not in answer.headers


@pytest.mark.parametrize(
    ("kind", "disposition"),
    [
        ("attachment", 'attachment; filename="report.csv"'),
        ("attachment-named", 'attachment; filename="export.csv"'),
        (
            "attachment-unicode",
            "attachment; filename=\"r_s um_.csv\"; filename*=UTF-8''r%C3%A9s%20um%C3%A9.csv",
        ),
    ],
)
async def test_send_file_as_attachment(
    client: httpx.AsyncClient, kind: str, disposition: str
) -> None:
    answer = await client.get(f"/action/result/{kind}")
    assert answer.status_code == 200
    assert answer.content == b"a,b\n1,2\n"
    assert answer.headers["EbuIo-PlugIt-ItAFile"] == "True"
    assert answer.headers["content-disposition"] == disposition


async def test_set_session_on_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/session-dict")
    assert answer.json() == {"x": 1}
    assert answer.headers["EbuIo-PlugIt-SetSession-user_key"] == "v1"
    assert answer.headers["EbuIo-PlugIt-SetSession-Other"] == "v 2"


async def test_set_session_keeps_the_key_case_on_the_wire(service: Service, live) -> None:
    from .helpers import http_request, raw_http

    server = live(service)
    answer = await raw_http(
        server.host, server.port, http_request("GET", "/action/result/session-dict")
    )
    names = {name for name, _ in answer.raw_headers}
    assert {"ebuio-plugit-setsession-user_key", "ebuio-plugit-setsession-other"} <= names


async def test_set_session_on_redirect(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/session-redirect")
    assert answer.headers["EbuIo-PlugIt-Redirect"] == "/next"
    assert answer.headers["EbuIo-PlugIt-SetSession-k"] == "v"
    assert answer.content == b""


async def test_set_session_on_file(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/session-file")
    assert answer.content == b"a,b\n1,2\n"
    assert answer.headers["EbuIo-PlugIt-ItAFile"] == "True"
    assert answer.headers["EbuIo-PlugIt-SetSession-k"] == "v"


async def test_set_session_with_empty_value(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/result/session-empty")
    assert answer.json() == {}
    assert answer.headers["EbuIo-PlugIt-SetSession-k"] == ""


async def test_set_session_without_values(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/session-without-values")
    assert answer.status_code == 200
    assert answer.headers["EbuIo-PlugIt-Redirect"] == "/next"
    assert not [name for name in answer.headers if "setsession" in name.lower()]


def test_set_session_values_default_to_a_new_dict_each_time() -> None:
    first, second = PlugItSetSession({}), PlugItSetSession({})
    assert first.things_to_set == {}
    assert first.things_to_set is not second.things_to_set


async def test_set_session_filled_after_it_was_built(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/session-filled-later/dark")
    assert answer.json() == {"filled": True}
    assert answer.headers["EbuIo-PlugIt-SetSession-theme"] == "dark"
    # A value added later is checked when it goes on the wire: no header injection.
    assert (await client.get("/action/session-filled-later/dark_evil")).status_code == 500


@pytest.mark.parametrize("status", PASS_THROUGH)
async def test_abort_passes_the_status(client: httpx.AsyncClient, status: int) -> None:
    answer = await client.get(f"/action/abort/{status}")
    assert answer.status_code == status
    if status == 304:
        assert answer.content == b""


async def test_raising_abort_directly(client: httpx.AsyncClient) -> None:
    assert (await client.get("/action/raise-abort-class")).status_code == 429


@pytest.mark.parametrize(
    ("path", "detail"),
    [("/action/raise", "secret internal detail"), ("/action/raise-async", "another secret")],
)
async def test_raising_is_a_short_500_with_the_traceback_in_the_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str, detail: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="plugit"):
        answer = await client.get(path)
    assert answer.status_code == 500
    assert answer.json()["result"] == "Error"
    assert len(answer.content) < 200
    assert detail not in answer.text
    assert "Traceback" not in answer.text
    failures = [r for r in caplog.records if r.exc_info]
    assert failures, "the traceback must be logged"
    assert detail in str(failures[0].exc_info[1])
    assert path in failures[0].getMessage()


async def test_missing_file_is_500(client: httpx.AsyncClient) -> None:
    assert (await client.get("/action/result/missing-file")).status_code == 500


def test_modern_names_are_the_legacy_ones() -> None:
    assert PlugItRedirect is Redirect
    assert PlugItSendFile is SendFile
    assert PlugItSetSession is SetSession


@pytest.mark.parametrize("bad", ["a\r\nb", "x\n", "nul\0"])
def test_header_injection_is_refused_when_the_result_is_built(bad: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        Redirect(bad)
    with pytest.raises(ValueError, match="line breaks"):
        SetSession({}, {"key": bad})


def test_session_keys_must_be_tokens() -> None:
    with pytest.raises(ValueError, match="token"):
        SetSession({}, {"bad key": "v"})


def test_send_file_accepts_a_path(tmp_path: Path) -> None:
    assert SendFile(tmp_path / "x", "text/plain").filename == tmp_path / "x"
