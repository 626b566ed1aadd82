"""`plugit check`, run as a command against real servers: a correct service, broken ones, polls.

Each server is uvicorn on a free port (`LiveServer`); the checker runs in its own process,
exactly as a service author types it.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from plugit import Redirect, Service, Settings
from plugit.metarules import meta_key_problems
from plugit.testing import LiveServer
from plugit.utils import crossdomain, json_only, user_info

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "polls"
GOOD_TAG = "d41d8cd98f00b204e9800998ecf8427e"  # the MD5 of nothing


def plugit_check(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `plugit check ARGS...` as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "plugit", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def findings(result: subprocess.CompletedProcess[str]) -> dict[str, list[dict[str, str]]]:
    """The findings of a `--json` run, by code."""
    report = json.loads(result.stdout)
    found: dict[str, list[dict[str, str]]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["code"], []).append(finding)
    return found


def serve(app: Any) -> Iterator[str]:
    with LiveServer(app, timeout_graceful_shutdown=1) as server:
        yield server.url + "/"


# -- A correct service ---------------------------------------------------------------------------
def good_service(root: Path) -> Service:
    (root / "templates").mkdir()
    (root / "templates" / "index.html").write_text("<p>{{ greeting }}</p>", encoding="utf-8")
    service = Service("good", root=root, settings=Settings(debug=True))

    @service.action("/", template="index.html")
    @user_info(props=["username"])
    def index(request: Any) -> dict[str, Any]:
        return {"greeting": f"Hello {request.args.get('ebuio_u_username')}"}

    @service.action("/item/<int:number>", template="index.html")
    def item(request: Any, number: int) -> dict[str, Any]:
        return {"greeting": number}

    @service.action("/api")
    @json_only()
    @crossdomain(origin="*")
    def api(request: Any) -> dict[str, Any]:
        return {"ok": True}

    @service.action("/go")
    def go(request: Any) -> Redirect:
        return Redirect("/")

    @service.action("/save", methods=["POST"])
    @json_only()
    def save(request: Any) -> dict[str, Any]:
        return {"saved": True}

    return service


@pytest.fixture(scope="module")
def good_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve(good_service(tmp_path_factory.mktemp("good")))


def test_a_correct_service_in_debug_lists_its_routes_and_is_clean(good_url: str) -> None:
    result = plugit_check(good_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[-1].startswith(f"ok: {good_url}: 5 routes")
    assert " 0 errors, 0 warnings" in lines[-1]
    # The one note: the POST-only action is not called without --post.
    assert [line.split()[:4] for line in lines[:-1]] == [["info", "action", "POST", "/save"]]


def test_the_json_report_is_a_stable_document(good_url: str) -> None:
    result = plugit_check(good_url, "--json", "--post")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["routes_from"] == "service"
    assert report["routes"] == ["/", "/item/1", "/api", "/go", "/save"]
    assert report["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert report["findings"] == []


def test_the_routes_given_are_the_routes_checked(good_url: str) -> None:
    result = plugit_check("--json", good_url, "api", "/nope")
    report = json.loads(result.stdout)
    assert report["routes"] == ["/api", "/nope"]
    assert result.returncode == 1
    (missing,) = findings(result)["meta-status"]
    assert missing["call"] == "meta /nope"
    assert "no action answers this route" in missing["got"]


def test_without_debug_nor_routes_it_checks_ping_and_version_and_asks_for_routes(
    tmp_path: Path,
) -> None:
    service = Service("quiet", root=tmp_path, settings=Settings(debug=False))
    service.action("/")(lambda request: {})
    for url in serve(service):
        result = plugit_check(url)
    assert result.returncode == 0
    assert "[routes-needed]" in result.stdout
    assert "plugit check URL / /show/1" in result.stdout


def test_a_guard_that_refuses_us_is_named(tmp_path: Path) -> None:
    settings = Settings(allowed_networks=("10.0.0.0/8",))  # type: ignore[arg-type]
    service = Service("guarded", root=tmp_path, settings=settings)
    for url in serve(service):
        result = plugit_check(url, "/")
    assert result.returncode == 1
    assert "[guard-refused]" in result.stdout
    assert "PI_ALLOWED_NETWORKS" in result.stdout


def test_a_guard_that_believes_x_forwarded_for_is_a_warning(tmp_path: Path) -> None:
    settings = Settings(use_proxy_ip=True)  # loopback only, judged on the header's address
    service = Service("trusting", root=tmp_path, settings=settings)
    for url in serve(service):
        result = plugit_check(url)
        strict = plugit_check(url, "--strict")
    assert result.returncode == 0
    assert "[guard-forwarded-for]" in result.stdout
    assert "PI_USE_PROXY_IP" in result.stdout
    assert strict.returncode == 1


def test_no_service_at_the_url_is_one_line_and_status_2() -> None:
    with LiveServer(Starlette()) as server:  # a port that is free once the server stops
        url = server.url + "/"
    result = plugit_check(url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"plugit: error: cannot reach {url}")
    assert len(result.stderr.splitlines()) == 1


def test_a_url_that_is_no_url_is_a_usage_error() -> None:
    result = plugit_check("localhost:5000")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "plugit: error: 'localhost:5000' is not a service URL: give one like http://127.0.0.1:5000/"
    ]


# -- Broken services -----------------------------------------------------------------------------
def broken_app() -> Starlette:
    """A raw ASGI service with one defect per route."""
    metas: dict[str, tuple[Any, dict[str, str]]] = {
        "/types": ({"template_tag": "", "json_only": True, "only_logged_user": "yes"}, {}),
        "/tag": ({"template_tag": GOOD_TAG.replace("d", "e")}, {}),
        "/nocache": ({"template_tag": "", "json_only": True}, {"Cache-Control": "no-cache"}),
        "/redirect": ({"template_tag": "", "json_only": True}, {}),
        "/garbage": ("<html>oops", {}),
        "/badaction": ({"template_tag": "", "json_only": True}, {}),
        "/hang": ({"template_tag": "", "json_only": True}, {}),
    }

    async def ping(request: Request) -> Response:
        return JSONResponse({"data": request.query_params.get("data", "")})

    async def version(request: Request) -> Response:
        return JSONResponse({"result": "Ok", "version": "1", "protocol": "EBUio-PlugIt"})

    async def meta(request: Request) -> Response:
        route = "/" + request.path_params["route"]
        if route not in metas:
            return PlainTextResponse("no", 404)
        body, headers = metas[route]
        fresh = {
            "Expire": email.utils.formatdate(usegmt=True),
            "Cache-Control": "public, max-age=0",
        }
        sent = headers if route == "/nocache" else {**fresh, **headers}
        if isinstance(body, str):
            return PlainTextResponse(body, headers=sent)
        return JSONResponse(body, headers=sent)

    async def template(request: Request) -> Response:
        return PlainTextResponse("")  # its MD5 is GOOD_TAG, never what /tag announces

    async def action(request: Request) -> Response:
        route = "/" + request.path_params["route"]
        if route == "/redirect":
            return Response(headers={"EbuIo-PlugIt-Redirect": "http://elsewhere.example/"})
        if route == "/badaction":
            return PlainTextResponse("{not json")
        if route == "/hang":
            await asyncio.sleep(4)  # done before the server stops
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/ping", ping),
            Route("/version", version),
            Route("/meta/{route:path}", meta),
            Route("/template/{route:path}", template),
            Route("/action/{route:path}", action),
        ]
    )


@pytest.fixture(scope="module")
def broken_url() -> Iterator[str]:
    yield from serve(broken_app())


# Each broken route, and the finding (code, call) the checker must name for it.
BREAKS = {
    "/types": ("meta-key-type", "meta /types"),
    "/tag": ("template-tag", "template /tag"),
    "/nocache": ("meta-expire", "meta /nocache"),
    "/redirect": ("action-redirect", "action GET /redirect"),
    "/garbage": ("meta-not-json", "meta /garbage"),
    "/badaction": ("action-not-json", "action GET /badaction"),
    "/hang": ("timeout", "action GET /hang"),
}


@pytest.fixture(scope="module")
def broken_run(broken_url: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    routes = list(BREAKS)
    text = plugit_check("--timeout", "1", broken_url, *routes)
    as_json = plugit_check("--timeout", "1", "--json", broken_url, *routes)
    return text, as_json


@pytest.mark.parametrize("route", list(BREAKS))
def test_each_defect_is_named_in_the_text_and_the_json(
    broken_run: tuple[subprocess.CompletedProcess[str], ...], route: str
) -> None:
    text, as_json = broken_run
    code, call = BREAKS[route]
    assert text.returncode == 1
    assert as_json.returncode == 1
    assert any(
        line.startswith("error") and f" {call} " in line and f"[{code}]" in line
        for line in text.stdout.splitlines()
    ), text.stdout
    assert call in [finding["call"] for finding in findings(as_json).get(code, [])]


def test_the_findings_say_what_was_expected_and_what_came_back(
    broken_run: tuple[subprocess.CompletedProcess[str], ...],
) -> None:
    found = findings(broken_run[1])
    (types,) = found["meta-key-type"]
    assert types["expected"] == "only_logged_user is a bool"
    assert types["got"] == 'only_logged_user: "yes"'
    assert [f["call"] for f in found["meta-cache-control"]] == ["meta /nocache"]
    assert "no-cache" in found["meta-cache-control"][0]["got"]
    assert "elsewhere.example" in found["action-redirect"][0]["got"]
    assert found["meta-not-json"][0]["got"].startswith("'<html>oops'")
    expected = {code for code, _ in BREAKS.values()} | {"meta-cache-control", "action-skipped"}
    assert set(found) == expected  # nothing else is wrong with these services
    report = json.loads(broken_run[1].stdout)
    assert report["ok"] is False
    assert report["counts"]["error"] == len(
        [f for f in report["findings"] if f["level"] == "error"]
    )
    assert broken_run[0].stdout.splitlines()[-1].startswith("FAILED: ")


# -- The polls example ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def polls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if str(EXAMPLE_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLE_DIR))
    pytest.importorskip("sqlalchemy")
    from polls.service import create_service

    database = tmp_path_factory.mktemp("polls") / "polls.sqlite3"
    yield from serve(create_service(f"sqlite:///{database}"))


def test_the_polls_example_is_clean(polls_url: str) -> None:
    routes = ["/", "/show/1", "/vote/1", "/create", "/voters/1", "/results/1.json", "/menubar"]
    result = plugit_check(polls_url, *routes, "--json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["counts"]["error"] == 0, report
    assert report["counts"]["warning"] == 0, report


# -- The shared rule ---------------------------------------------------------------------------
def test_meta_key_types_come_from_the_protocol_s_meta_declaration() -> None:
    assert meta_key_problems({"template_tag": "", "cache_by_user": None, "user_info": []}) == {}
    assert meta_key_problems(
        {"template_tag": 3, "cache_time": True, "user_info": ["a", 1], "unknown": 1}
    ) == {"template_tag": "string", "cache_time": "int", "user_info": "list of strings"}
