"""`POST mail`: a user's e-mail reply, handed to the service's mail callback."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse

from plugit import Request, Service, Settings, abort
from plugit.exceptions import ConfigurationError

from .conftest import ConnectFn

received: list[dict[str, Any]] = []


def mail_callback(request: Request) -> Any:
    """Answer according to the message, to exercise each kind of answer."""
    message = request.form.get("message", "")
    received.append({"response_id": request.form["response_id"], "message": message})
    if message == "respond":
        return PlainTextResponse("custom answer", status_code=202)
    if message == "fail":
        raise RuntimeError("the mail callback exploded")
    if message == "abort":
        abort(403)
    if message == "none":
        return None
    return {"result": "Ok", "seen": message}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    root = tmp_path_factory.mktemp("mail")
    return Service(root=root, settings=Settings(), mail_callback=mail_callback)


@pytest.fixture(autouse=True)
def _clear() -> None:
    received.clear()


async def test_empty_response_id_is_an_error_without_calling_back(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/mail", data={"response_id": "", "message": "hi"})
    assert answer.status_code == 200
    assert answer.json() == {"result": "Error"}
    assert received == []


async def test_callback_dict_is_sent_as_json(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"response_id": "42", "message": "hello"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"result": "Ok", "seen": "hello"}
    assert received == [{"response_id": "42", "message": "hello"}]


async def test_callback_response_is_sent_as_is(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"response_id": "1", "message": "respond"})
    assert answer.status_code == 202
    assert answer.text == "custom answer"


async def test_callback_returning_none_means_ok(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"response_id": "1", "message": "none"})
    assert answer.json() == {"result": "Ok"}


async def test_callback_raising_is_a_short_500_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="plugit"):
        answer = await client.post("/mail", data={"response_id": "1", "message": "fail"})
    assert answer.status_code == 500
    assert answer.json()["result"] == "Error"
    assert "exploded" not in answer.text
    assert "Traceback" not in answer.text
    assert any(r.exc_info and "exploded" in str(r.exc_info[1]) for r in caplog.records)


async def test_callback_abort_passes_the_status(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"response_id": "1", "message": "abort"})
    assert answer.status_code == 403


async def test_get_mail_is_405(client: httpx.AsyncClient) -> None:
    answer = await client.get("/mail")
    assert answer.status_code == 405
    assert received == []


async def test_post_without_response_id_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/mail", data={"message": "no id"})
    assert answer.status_code == 400
    assert received == []


async def test_no_callback_answers_ok(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings())
    answer = await connect(service).post("/mail", data={"response_id": "7", "message": "x"})
    assert answer.status_code == 200
    assert answer.json() == {"result": "Ok"}


async def test_async_callback_and_mail_handler_decorator(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings())

    @service.mail_handler
    async def on_mail(request: Request) -> dict[str, str]:
        return {"result": "Ok", "id": request.form["response_id"]}

    answer = await connect(service).post("/mail", data={"response_id": "9"})
    assert answer.json() == {"result": "Ok", "id": "9"}


async def test_mail_is_guarded(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings(allowed_networks=("10.0.0.0/8",)))
    answer = await connect(service).post("/mail", data={"response_id": "1"})
    assert answer.status_code == 404


async def test_no_mail_handler_after_serving_started(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings())
    assert (await connect(service).post("/mail", data={"response_id": "1"})).status_code == 200

    with pytest.raises(ConfigurationError, match="already serving"):
        service.mail_handler(mail_callback)
    answer = await connect(service).post("/mail", data={"response_id": "2"})
    assert answer.json() == {"result": "Ok"}
