"""`GET ping` and `GET version`: the calls a proxy makes to see a service is there."""

from __future__ import annotations

import httpx
import pytest

from plugit import Service, Settings

from .conftest import ConnectFn
from .helpers import make_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return make_service(tmp_path_factory.mktemp("svc"))


async def test_ping_echoes_data(client: httpx.AsyncClient) -> None:
    answer = await client.get("/ping", params={"data": "hello world é"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"data": "hello world é"}


async def test_ping_without_data_echoes_empty_string(client: httpx.AsyncClient) -> None:
    answer = await client.get("/ping")
    assert answer.status_code == 200
    assert answer.json() == {"data": ""}


async def test_version_names_protocol_and_version(client: httpx.AsyncClient) -> None:
    answer = await client.get("/version")
    assert answer.status_code == 200
    assert answer.json() == {"result": "Ok", "version": "1", "protocol": "EBUio-PlugIt"}


async def test_version_uses_configured_api_name(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=tmp_path, settings=Settings(api_name="Custom-API"))
    answer = await connect(service).get("/version")
    assert answer.json() == {"result": "Ok", "version": "1", "protocol": "Custom-API"}


async def test_version_api_name_from_config_module(connect: ConnectFn, tmp_path) -> None:
    settings = Settings.load({"PI_API_NAME": "From-Config"}, environ={})
    answer = await connect(Service(root=tmp_path, settings=settings)).get("/version")
    assert answer.json()["protocol"] == "From-Config"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_ping_and_version_are_get_only(client: httpx.AsyncClient, method: str) -> None:
    for path in ("/ping", "/version"):
        answer = await client.request(method, path)
        assert answer.status_code == 405, path
