"""What a service tells the developer: its traceback (DEBUG, allowed callers only), the guard's
refusal (one log line per address, an optional header), its template's file name, and a root
page. Each test runs in-process and over a real socket (the `connect` fixture)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from plugit import Request, Service, Settings
from plugit.protocol import ERROR_TRACEBACK_KEY, HEADER_GUARD_REFUSED, HEADER_TEMPLATE_FILE
from plugit.settings import parse_networks

from .conftest import ConnectFn
from .helpers import service_folder


def failing_service(root: Path, **settings: object) -> Service:
    service = Service("debug-demo", root=service_folder(root), settings=Settings(**settings))

    def divide(total: int, parts: int) -> float:
        return total / parts

    @service.action("/", template="home.html")
    def home(request: Request) -> dict[str, str]:
        return {"name": "home"}

    @service.action("/share/<int:parts>")
    def share(request: Request, parts: int) -> dict[str, float]:
        return {"share": divide(10, parts)}

    return service


async def test_debug_sends_the_traceback_from_the_services_own_code(
    connect: ConnectFn, tmp_path: Path
) -> None:
    client = connect(failing_service(tmp_path, debug=True))
    answer = await client.get("/action/share/0")
    assert answer.status_code == 500
    body = answer.json()
    assert body["result"] == "Error"
    trace = body[ERROR_TRACEBACK_KEY]
    assert trace.startswith("Traceback (most recent call last):\n")
    first_frame = trace.splitlines()[1]
    assert "test_debugging.py" in first_frame
    assert "in share" in first_frame
    assert "in divide" in trace
    assert trace.rstrip().endswith("ZeroDivisionError: division by zero")
    assert (await client.get("/action/share/2")).json() == {"share": 5.0}


async def test_without_debug_no_traceback_leaves_the_service(
    connect: ConnectFn, tmp_path: Path
) -> None:
    client = connect(failing_service(tmp_path))
    answer = await client.get("/action/share/0")
    assert answer.status_code == 500
    assert answer.json() == {"result": "Error", "error": "the action failed; see the service's log"}
    assert "ZeroDivisionError" not in answer.text


async def test_a_refused_caller_never_runs_the_action_nor_sees_a_traceback(
    connect: ConnectFn, tmp_path: Path
) -> None:
    service = failing_service(tmp_path, debug=True, allowed_networks=parse_networks("10.0.0.0/8"))
    answer = await connect(service).get("/action/share/0")
    assert (answer.status_code, answer.text) == (404, "Not Found")
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(("debug", "shown"), [(False, "hidden"), (True, "127.0.0.1")])
async def test_the_guard_answers_its_404_with_the_refusal_header(
    connect: ConnectFn, tmp_path: Path, debug: bool, shown: str
) -> None:
    service = failing_service(tmp_path, debug=debug, allowed_networks=parse_networks("10.0.0.0/8"))
    client = connect(service)
    for path in ("/meta/", "/template/", "/action/", "/ping", "/action/nowhere"):
        answer = await client.get(path)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path
        assert answer.headers[HEADER_GUARD_REFUSED] == shown, path
    allowed = await connect(failing_service(tmp_path)).get("/action/nowhere")
    assert allowed.status_code == 404
    assert HEADER_GUARD_REFUSED not in allowed.headers  # a missing route is not a refusal


async def test_a_refused_address_is_logged_once_with_the_setting_to_change(
    connect: ConnectFn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = failing_service(tmp_path, allowed_networks=parse_networks("10.0.0.0/8"))
    client = connect(service)
    with caplog.at_level(logging.WARNING, logger="plugit.guard"):
        for _ in range(5):
            assert (await client.get("/meta/")).status_code == 404
        await client.get("/action/")
    lines = [record.getMessage() for record in caplog.records if record.name == "plugit.guard"]
    assert len(lines) == 1, lines
    assert "refused a call to /meta/ from 127.0.0.1" in lines[0]
    assert "PI_ALLOWED_NETWORKS" in lines[0]
    assert "PLUGIT_ALLOWED_NETWORKS" in lines[0]
    assert "PLUGIT_ALLOWED_NETWORKS=10.0.0.0/8,127.0.0.1/32" in lines[0]


async def test_the_template_answer_names_its_file(connect: ConnectFn, tmp_path: Path) -> None:
    answer = await connect(failing_service(tmp_path)).get("/template/")
    assert answer.status_code == 200
    assert answer.headers[HEADER_TEMPLATE_FILE] == "home.html"


async def test_the_root_says_what_this_is_and_how_to_open_it(
    connect: ConnectFn, tmp_path: Path
) -> None:
    client = connect(failing_service(tmp_path))
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>debug-demo: a PlugIt service</title>" in page.text
    assert f"plugit proxy --dev --service {client.base_url}/</pre>" in page.text
    assert (await client.head("/")).status_code == 200
    assert (await client.post("/")).status_code == 405
    # The protocol's own paths are untouched.
    assert (await client.get("/action/")).json() == {"name": "home"}
    assert (await client.get("/version")).json()["result"] == "Ok"


async def test_the_root_page_sits_at_the_base_url_too(connect: ConnectFn, tmp_path: Path) -> None:
    service = failing_service(tmp_path, base_url="/svc/")
    client = connect(service)
    for path in ("/", "/svc/"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f"--service {client.base_url}/svc/</pre>" in page.text
    assert (await client.get("/svc/action/")).json() == {"name": "home"}


async def test_the_root_page_repeats_no_odd_host(connect: ConnectFn, tmp_path: Path) -> None:
    client = connect(failing_service(tmp_path))
    page = await client.get("/", headers={"Host": "<script>x</script>"})
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "--service http://127.0.0.1:5000/</pre>" in page.text
