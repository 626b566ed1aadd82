"""Exceptions that carry an HTTP status (`flask.abort(404)`, ...) answer it; others answer 500.

Flask is installed in the test environment only; the SDK itself never imports it.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
from collections.abc import Callable
from pathlib import Path

import flask
import httpx
import pytest
import werkzeug.exceptions

from plugit import Request, Service
from plugit.exceptions import APIResponseError, http_status
from plugit.protocol import PASS_THROUGH_STATUSES

from .helpers import make_service


class StatusCodeError(Exception):
    """An exception in the style of Starlette's: the status as an instance attribute."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.detail = f"status {status_code}"


class PropertyCodeError(Exception):
    """A `code` computed by a property (aiohttp style): never read, so never run."""

    reads = 0

    @property
    def code(self) -> int:
        PropertyCodeError.reads += 1
        return 404


class TextCodeError(Exception):
    """SQLAlchemy style: `code` is a documentation code, not a status."""

    code = "e3q8"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("http-exceptions"))
    raising: dict[str, Callable[[], BaseException]] = {
        "flask-404": lambda: _flask_abort(404),
        "flask-403": lambda: _flask_abort(403),
        "flask-401": lambda: _flask_abort(401),
        "flask-429": lambda: _flask_abort(429),
        "flask-304": lambda: _NotModified(),
        "flask-400": lambda: _flask_abort(400),
        "flask-503": lambda: _flask_abort(503),
        "status-code-404": lambda: StatusCodeError(404),
        "status-code-200": lambda: StatusCodeError(200),
        "status-code-302": lambda: StatusCodeError(302),
        "property-code": PropertyCodeError,
        "text-code": TextCodeError,
        "urllib-404": lambda: urllib.error.HTTPError("http://x/", 404, "Not Found", None, None),
        "api-404": lambda: APIResponseError("the API answered 404", 404),
    }

    @service.action("/raise/<kind>")
    def raise_it(request: Request, kind: str) -> None:
        raise raising[kind]()

    @service.action("/raise-async/<kind>")
    async def raise_it_async(request: Request, kind: str) -> None:
        raise raising[kind]()

    return service


class _NotModified(werkzeug.exceptions.HTTPException):
    code = 304


def _flask_abort(status: int) -> BaseException:
    try:
        flask.abort(status)
    except werkzeug.exceptions.HTTPException as error:
        return error
    raise AssertionError("flask.abort did not raise")


@pytest.mark.parametrize("flavour", ["raise", "raise-async"])
@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("flask-404", 404),
        ("flask-403", 403),
        ("flask-401", 401),
        ("flask-429", 429),
        ("flask-400", 400),
        ("flask-503", 503),
        ("status-code-404", 404),
    ],
)
async def test_an_http_exception_answers_its_status(
    client: httpx.AsyncClient, flavour: str, kind: str, status: int
) -> None:
    answer = await client.get(f"/action/{flavour}/{kind}")
    assert answer.status_code == status
    assert answer.json()["result"] == "Error"


async def test_flask_abort_gives_werkzeug_s_description(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/raise/flask-404")
    assert answer.json()["error"] == werkzeug.exceptions.NotFound.description
    assert (await client.get("/action/raise/status-code-404")).json()["error"] == "status 404"


async def test_304_answers_without_a_body(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/raise/flask-304")
    assert answer.status_code == 304
    assert answer.content == b""


@pytest.mark.parametrize(
    "kind", ["status-code-200", "status-code-302", "text-code", "urllib-404", "api-404"]
)
async def test_other_exceptions_are_failures(client: httpx.AsyncClient, kind: str) -> None:
    answer = await client.get(f"/action/raise/{kind}")
    assert answer.status_code == 500
    assert answer.json() == {"result": "Error", "error": "the action failed; see the service's log"}


async def test_a_computed_code_is_never_read(client: httpx.AsyncClient) -> None:
    answer = await client.get("/action/raise/property-code")
    assert answer.status_code == 500
    assert PropertyCodeError.reads == 0


def test_every_pass_through_status_is_answered() -> None:
    for status in PASS_THROUGH_STATUSES:
        assert http_status(StatusCodeError(status)) == status


def test_the_sdk_does_not_import_flask_or_werkzeug(tmp_path: Path) -> None:
    code = (
        "import sys, plugit, plugit.endpoints, plugit.utils, plugit.testing\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'werkzeug'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
