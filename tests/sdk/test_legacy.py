"""The original API, unchanged: a Python 2-era service run with `python server.py PORT`."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import plugit
import plugit.params
from plugit import Service

LEGACY = Path(__file__).parent / "legacy_service"
ServerProcess = Callable[..., contextlib.AbstractContextManager[subprocess.Popen[str]]]


@pytest.fixture(scope="module")
def legacy_url(free_port: Callable[..., int], server_process: ServerProcess) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(["python", "server.py", str(port)], cwd=LEGACY, url=url + "/version"):
        yield url


@pytest.fixture
def client(legacy_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=legacy_url) as client:
        yield client


def test_ping_and_version(client: httpx.Client) -> None:
    assert client.get("/ping", params={"data": "legacy"}).json() == {"data": "legacy"}
    assert client.get("/version").json() == {
        "result": "Ok",
        "version": "1",
        "protocol": "EBUio-PlugIt",
    }


def test_meta_of_the_home_action(client: httpx.Client) -> None:
    answer = client.get("/meta/")
    tag = hashlib.md5((LEGACY / "templates" / "home.html").read_bytes()).hexdigest()
    assert answer.json() == {
        "template_tag": tag,
        "only_logged_user": True,
        "user_info": ["username", "ebuio_admin"],
        "cache_time": 60,
        "cache_by_user": False,
    }
    assert answer.headers["cache-control"] == "public, max-age=300"  # DEBUG = False
    assert "expire" in answer.headers


def test_meta_of_every_decorator(client: httpx.Client) -> None:
    assert client.get("/meta/orga").json() == {
        "template_tag": hashlib.md5((LEGACY / "templates" / "home.html").read_bytes()).hexdigest(),
        "only_orga_member_user": True,
        "only_orga_admin_user": True,
        "public": True,
        "no_template": True,
    }
    assert client.get("/meta/feed").json() == {
        "template_tag": "",
        "xml_only": True,
        "address_in_networks": ["127.0.0.1/32"],
    }
    assert client.get("/meta/show/1").json()["only_member_user"] is True
    assert client.get("/meta/create").json()["only_admin_user"] is True
    assert client.get("/meta/export/a.csv").json()["json_only"] is True
    assert client.get("/meta/nothing").status_code == 404


def test_template(client: httpx.Client) -> None:
    answer = client.get("/template/show/1")
    assert answer.text == (LEGACY / "templates" / "show.html").read_text()
    assert client.get("/template/login").status_code == 404


def test_actions_read_args_and_form(client: httpx.Client) -> None:
    home = client.get("/action/", params={"ebuio_u_username": "ada", "ebuio_u_ebuio_admin": "True"})
    assert home.json() == {
        "polls": [{"id": 1, "title": "Favourite colour?"}],
        "who": "ada",
        "admin": True,
        "debug": False,
    }
    show = client.get("/action/show/1")
    assert show.json()["poll"]["title"] == "Favourite colour?"
    assert client.get("/action/show/99").status_code == 404


def test_post_vote_redirects(client: httpx.Client) -> None:
    answer = client.post("/action/show/1", data={"choice": "red", "ebuio_u_username": "ada"})
    assert answer.status_code == 200
    assert answer.headers["EbuIo-PlugIt-Redirect"] == "show/1"
    assert client.get("/action/show/1").json()["poll"]["votes"]["red"] >= 1


def test_create_with_multi_valued_choices(client: httpx.Client) -> None:
    answer = client.post("/action/create", data={"title": "Tea?", "choice": ["yes", "no"]})
    target = answer.headers["EbuIo-PlugIt-Redirect"]
    poll = client.get("/action/" + target).json()["poll"]
    assert poll == {"title": "Tea?", "votes": {"yes": 0, "no": 0}}
    assert client.post("/action/create", data={}).status_code == 400  # form["title"]


def test_send_file_and_session_and_etag(client: httpx.Client) -> None:
    export = client.get("/action/export/polls.csv")
    assert export.content == b"choice,votes\nred,0\n"
    assert export.headers["EbuIo-PlugIt-ItAFile"] == "True"
    assert export.headers["content-disposition"] == 'attachment; filename="polls.csv"'
    login = client.post("/action/login", data={"name": "ada"})
    assert login.headers["EbuIo-PlugIt-Redirect"] == "/"
    assert login.headers["EbuIo-PlugIt-Redirect-NoPrefix"] == "True"
    assert login.headers["EbuIo-PlugIt-SetSession-logged_as"] == "ada"
    versioned = client.get("/action/versioned")
    assert versioned.headers["etag"] == "poll-v1"
    assert versioned.json() == {"version": 1}


def test_session_headers_and_upload(client: httpx.Client) -> None:
    answer = client.get(
        "/action/whoami",
        headers={
            "X-Plugitsession-logged_as": "ada",
            "Cookie": "logged_as=ada",
            "X-Plugit-Remote-Addr": "192.0.2.1",
        },
    )
    assert answer.json() == {"session": {"logged_as": "ada"}, "remote": "192.0.2.1"}
    upload = client.post("/action/upload", files={"file": ("votes.txt", b"12345")})
    assert upload.json() == {"filename": "votes.txt", "size": 5}


def test_cors_and_errors(client: httpx.Client) -> None:
    options = client.options("/action/api/polls")
    assert options.status_code == 200
    assert options.headers["access-control-allow-methods"] == "GET, OPTIONS"
    assert options.headers["access-control-max-age"] == "600"
    broken = client.get("/action/broken")
    assert broken.status_code == 500
    assert "ZeroDivisionError" not in broken.text


def test_media_and_mail(client: httpx.Client) -> None:
    css = client.get("/media/css/polls.css")
    assert css.text == "h1 { font-weight: bold; }\n"
    assert "max-age" in css.headers["cache-control"]
    assert client.get("/media/../config.py").status_code == 404
    assert client.post("/mail", data={"response_id": "1"}).json() == {"result": "Ok"}
    assert client.post("/mail", data={"response_id": ""}).json() == {"result": "Error"}


def test_environment_overrides_the_legacy_config(
    free_port: Callable[..., int], server_process: ServerProcess
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PLUGIT_ALLOWED_NETWORKS": "10.0.0.0/8", "PLUGIT_DEBUG": "true"}
    with server_process(
        ["python", "server.py", str(port)], cwd=LEGACY, url=url + "/version", env=env
    ):
        assert httpx.get(url + "/ping").status_code == 404
        assert httpx.get(url + "/action/").status_code == 404
        assert httpx.get(url + "/version").status_code == 200


def test_bad_config_fails_at_start_up(tmp_path: Path) -> None:
    for name in ("actions.py", "server.py"):
        (tmp_path / name).write_text((LEGACY / name).read_text())
    (tmp_path / "config.py").write_text("DEBUG = False\nPI_ALLOWED_NETWORKS = ['nonsense']\n")
    done = subprocess.run(
        [sys.executable, "server.py", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert "ConfigurationError" in done.stderr
    assert "nonsense" in done.stderr


def test_plugit_serve_command(
    tmp_path: Path, free_port: Callable[..., int], server_process: ServerProcess
) -> None:
    (tmp_path / "app.py").write_text(
        "from plugit import Service, Settings\n"
        "service = Service(settings=Settings(api_name='Served'))\n"
        "@service.action('/')\n"
        "def home(request):\n"
        "    return {'served': True}\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["python", "-m", "plugit", "serve", "app:service", "--port", str(port)]
    with server_process(command, cwd=tmp_path, url=url + "/version"):
        assert httpx.get(url + "/version").json()["protocol"] == "Served"
        assert httpx.get(url + "/action/").json() == {"served": True}


SESSION_APP = (
    "from plugit import Service, SetSession\n"
    "service = Service()\n"
    "@service.action('/')\n"
    "def home(request):\n"
    "    return SetSession({}, {'UserId': '7'})\n"
)


@pytest.mark.parametrize(
    "command",
    [
        ["python", "-m", "plugit", "serve", "app:service", "--port", "{port}"],
        ["python", "-c", "import app; app.service.run(port={port})"],
    ],
    ids=["plugit-serve", "service-run"],
)
def test_session_keys_keep_their_case_on_the_wire(
    command: list[str],
    tmp_path: Path,
    free_port: Callable[..., int],
    server_process: ServerProcess,
) -> None:
    (tmp_path / "app.py").write_text(SESSION_APP)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        server_process(
            [part.format(port=port) for part in command], cwd=tmp_path, url=url + "/version"
        ),
        socket.create_connection(("127.0.0.1", port)) as raw,
    ):
        raw.sendall(b"GET /action/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert b"\r\nEbuIo-PlugIt-SetSession-UserId: 7\r\n" in answer


def test_plugit_serve_reports_a_bad_target(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plugit", "serve", "missing_module:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "missing_module" in done.stderr
    assert "Traceback" not in done.stderr


def test_params_read_config_py(fresh_default_app: Path) -> None:
    (fresh_default_app / "config.py").write_text(
        "DEBUG = True\nPI_BASE_URL = '/x/'\nPI_ALLOWED_NETWORKS = ['10.0.0.0/8']\n"
    )
    assert plugit.params.DEBUG is True
    assert plugit.params.PI_BASE_URL == "/x/"
    assert plugit.params.PI_ALLOWED_NETWORKS == ["10.0.0.0/8"]
    assert plugit.params.PI_API_NAME == "EBUio-PlugIt"
    assert plugit.params.PI_META_CACHE is None
    assert plugit.params.base_url == "/x/"
    assert not hasattr(plugit.params, "NOT_A_SETTING")


def test_params_follow_the_loaded_service(
    fresh_default_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fresh_default_app / "config.py").write_text("DEBUG = False\nPI_API_NAME = 'Loaded'\n")
    (fresh_default_app / "legacy_params_actions.py").write_text(
        "from plugit.utils import action\n@action(route='/')\ndef home(request):\n    return {}\n"
    )
    import legacy_params_actions  # type: ignore[import-not-found]

    service = plugit.load_actions(legacy_params_actions)
    assert isinstance(service, Service)
    assert plugit.app.service is service
    monkeypatch.setenv("PLUGIT_API_NAME", "changed after loading")
    assert plugit.params.PI_API_NAME == "Loaded"  # the loaded service's settings


def test_load_actions_without_actions_is_an_error(fresh_default_app: Path) -> None:
    import types

    with pytest.raises(plugit.ConfigurationError, match="no @action"):
        plugit.load_actions(types.ModuleType("empty_actions"))
    with pytest.raises(plugit.ConfigurationError, match="load_actions"):
        plugit.app.service  # noqa: B018
