"""Settings (config.py + PLUGIT_* variables), PI_BASE_URL, and the action registry's rules."""

from __future__ import annotations

import types
from pathlib import Path

import httpx
import pytest

from plugit import ConfigurationError, Request, Service, Settings
from plugit.settings import parse_networks
from plugit.utils import action

from .conftest import ConnectFn
from .helpers import make_service, service_folder


def config_module(**values: object) -> types.ModuleType:
    module = types.ModuleType("config")
    vars(module).update(values)
    return module


def test_defaults() -> None:
    settings = Settings.load(None, environ={})
    assert settings.debug is False
    assert settings.base_url == "/"
    assert [str(n) for n in settings.allowed_networks] == ["127.0.0.0/8", "::1/128"]
    assert settings.use_proxy_ip is False
    assert settings.api_name == "EBUio-PlugIt"
    assert settings.meta_max_age == 300
    assert settings.max_body_size == 10 * 1024 * 1024


def test_config_module_values() -> None:
    config = config_module(
        DEBUG=True,
        PI_BASE_URL="/svc/",
        PI_ALLOWED_NETWORKS=["10.0.0.0/8", "2001:db8::/32"],
        PI_USE_PROXY_IP=True,
        PI_API_NAME="Other",
        PI_META_CACHE=12,
        API_URL="http://proxy/plugIt/ebuio_api/",
        PI_MAX_BODY_SIZE=2048,
        UNRELATED="ignored",
    )
    settings = Settings.load(config, environ={})
    assert settings.debug is True
    assert settings.base_url == "/svc/"
    assert settings.allowed_networks == parse_networks(["10.0.0.0/8", "2001:db8::/32"])
    assert settings.use_proxy_ip is True
    assert settings.api_name == "Other"
    assert settings.meta_max_age == 12
    assert settings.api_url == "http://proxy/plugIt/ebuio_api/"
    assert settings.max_body_size == 2048


def test_environment_overrides_config() -> None:
    config = config_module(DEBUG=True, PI_BASE_URL="/a/", PI_ALLOWED_NETWORKS=["10.0.0.0/8"])
    environ = {
        "PLUGIT_DEBUG": "false",
        "PLUGIT_BASE_URL": "/b/",
        "PLUGIT_ALLOWED_NETWORKS": "192.168.0.0/16, ::1/128",
        "PLUGIT_MAX_BODY_SIZE": "99",
        "PLUGIT_META_CACHE": "5",
        "PLUGIT_USE_PROXY_IP": "yes",
        "PLUGIT_EMPTY_IS_IGNORED": "",
        "PLUGIT_API_NAME": "",
    }
    settings = Settings.load(config, environ=environ)
    assert settings.debug is False
    assert settings.base_url == "/b/"
    assert settings.allowed_networks == parse_networks(["192.168.0.0/16", "::1/128"])
    assert settings.max_body_size == 99
    assert settings.meta_max_age == 5
    assert settings.use_proxy_ip is True
    assert settings.api_name == "EBUio-PlugIt"


def test_real_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGIT_API_NAME", "From-Env")
    assert Settings.load().api_name == "From-Env"
    assert Service(root=".").settings.api_name == "From-Env"


def test_settings_accept_network_strings() -> None:
    settings = Settings(allowed_networks=("10.0.0.0/8", "::1"))  # type: ignore[arg-type]
    assert settings.allowed_networks == parse_networks(["10.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    ("config", "environ", "named"),
    [
        ({"PI_ALLOWED_NETWORKS": ["nonsense"]}, {}, "nonsense"),
        ({"PI_ALLOWED_NETWORKS": ["10.0.0.0/33"]}, {}, "10.0.0.0/33"),
        ({}, {"PLUGIT_ALLOWED_NETWORKS": "1.2.3.4/8,bad-net"}, "bad-net"),
        ({"PI_BASE_URL": "svc"}, {}, "'svc'"),
        ({"PI_BASE_URL": "/svc"}, {}, "'/svc'"),
        ({"PI_BASE_URL": "svc/"}, {}, "'svc/'"),
        ({}, {"PLUGIT_BASE_URL": "nope"}, "'nope'"),
        ({"DEBUG": "maybe"}, {}, "maybe"),
        ({}, {"PLUGIT_DEBUG": "perhaps"}, "PLUGIT_DEBUG"),
        ({"PI_META_CACHE": "soon"}, {}, "soon"),
        ({}, {"PLUGIT_MAX_BODY_SIZE": "big"}, "PLUGIT_MAX_BODY_SIZE"),
        ({"PI_MAX_BODY_SIZE": 0}, {}, "0"),
    ],
)
def test_bad_values_raise_configuration_error_naming_them(
    config: dict[str, object], environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.load(config, environ=environ)
    assert named in str(error.value)


def test_configuration_error_is_a_plugit_error() -> None:
    from plugit import PlugItError

    assert issubclass(ConfigurationError, PlugItError)


async def test_base_url_prefixes_every_path(connect: ConnectFn, tmp_path) -> None:
    service = make_service(tmp_path, base_url="/svc/")

    @service.action("/", template="home.html")
    def home(request: Request) -> dict[str, str]:
        return {"page": "home"}

    @service.action("/show/<int:pk>")
    def show(request: Request, pk: int) -> dict[str, int]:
        return {"pk": pk}

    client = connect(service)
    assert (await client.get("/svc/ping?data=1")).json() == {"data": "1"}
    assert (await client.get("/svc/version")).json()["result"] == "Ok"
    assert (await client.get("/svc/meta/")).json()["template_tag"] != ""
    assert (await client.get("/svc/template/")).text.startswith("{% extends")
    assert (await client.get("/svc/action/")).json() == {"page": "home"}
    assert (await client.get("/svc/action/show/4")).json() == {"pk": 4}
    assert (await client.get("/svc/media/logo.txt")).text == "logo\n"
    assert (await client.post("/svc/mail", data={"response_id": "1"})).json() == {"result": "Ok"}
    for path in ("/ping", "/version", "/meta/", "/template/", "/action/", "/media/logo.txt"):
        assert (await client.get(path)).status_code == 404, path


async def test_base_url_keeps_the_guard(connect: ConnectFn, tmp_path) -> None:
    service = make_service(
        tmp_path, base_url="/deep/svc/", allowed_networks=parse_networks(["10.0.0.0/8"])
    )
    service.action("/")(lambda request: {})
    client = connect(service)
    assert (await client.get("/deep/svc/action/")).status_code == 404
    assert (await client.get("/deep/svc/ping")).status_code == 404
    assert (await client.get("/deep/svc/version")).status_code == 200


def test_duplicate_routes_are_refused(tmp_path) -> None:
    service = make_service(tmp_path)
    service.action("/same")(lambda request: {})
    with pytest.raises(ConfigurationError, match="/same"):
        service.action("/same")(lambda request: {})


def test_adopting_the_same_spec_twice_is_harmless(tmp_path) -> None:
    @action(route="/once")
    def once(request):
        return {}

    from plugit.actions import spec_of

    service = make_service(tmp_path)
    service.add_actions([spec_of(once), spec_of(once)])
    assert len(service.registry) == 1


async def test_no_action_after_serving_started(tmp_path) -> None:
    service = make_service(tmp_path)
    service.action("/")(lambda request: {})
    transport = httpx.ASGITransport(service, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/action/")).status_code == 200
    with pytest.raises(ConfigurationError, match="already serving"):
        service.action("/late")(lambda request: {})
    with pytest.raises(ConfigurationError, match="already serving"):
        service.websocket("/late-ws")(_async_noop)
    assert (await _get(service, "/action/late")) == 404


async def _async_noop(websocket: object) -> None:
    return None


async def _get(service: Service, path: str) -> int:
    transport = httpx.ASGITransport(service, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return (await client.get(path)).status_code


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("no-slash", "must start with '/'"),
        ("/x/<weird:name>", "unknown converter"),
        ("/x/<int:a>/<a>", "twice"),
        ("/x/<unclosed", "malformed"),
    ],
)
def test_bad_routes_are_refused_at_declaration(tmp_path, route: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_service(tmp_path).action(route)(lambda request: {})


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="FETCH"):
        action(route="/m", methods=["GET", "FETCH"])(lambda request: {})


def test_bad_decorator_values_are_refused() -> None:
    from plugit.utils import address_in_networks, cache

    with pytest.raises(ConfigurationError):
        cache(time=-1)
    with pytest.raises(ConfigurationError, match="nonsense"):
        address_in_networks(networks=["nonsense"])


def test_check_reports_missing_templates(tmp_path) -> None:
    service = Service(root=service_folder(tmp_path), settings=Settings())
    service.action("/a", template="home.html")(lambda request: {})
    service.action("/b", template="absent.html")(lambda request: {})
    problems = service.check()
    assert len(problems) == 1
    assert "absent.html" in problems[0]


def test_a_service_reads_config_py_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLUGIT_BASE_URL", raising=False)
    (tmp_path / "config.py").write_text("PI_BASE_URL = '/svc/'\nPI_META_CACHE = 42\n")
    service = Service(root=tmp_path)
    assert service.settings.base_url == "/svc/"
    assert service.settings.meta_max_age == 42


def test_environment_overrides_config_py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.py").write_text("PI_BASE_URL = '/svc/'\n")
    monkeypatch.setenv("PLUGIT_BASE_URL", "/other/")
    assert Service(root=tmp_path).settings.base_url == "/other/"


def test_a_service_never_reads_another_config_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.py").write_text("PI_BASE_URL = '/wrong/'\n")
    monkeypatch.syspath_prepend(str(elsewhere))
    monkeypatch.delenv("PLUGIT_BASE_URL", raising=False)
    root = tmp_path / "service"
    root.mkdir()
    assert Service(root=root).settings.base_url == "/"


def test_a_broken_config_py_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLUGIT_BASE_URL", raising=False)
    (tmp_path / "config.py").write_text("PI_BASE_URL = 'no-slashes'\n")
    with pytest.raises(ConfigurationError, match="no-slashes"):
        Service(root=tmp_path)
