"""`import plugit` gives the original module-level API: params, utils, api, app and its config."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import plugit
from plugit.testing import LiveServer


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (nothing imported yet) in `cwd`."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bare_import_gives_every_module_without_reading_config(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text("print('config read')\nDEBUG = True\n")
    done = run_python(
        """
        import plugit

        print(plugit.utils.action.__name__, plugit.api.PlugItAPI.__name__)
        print(type(plugit.app).__name__, "plugit.params" in __import__("sys").modules)
        print("before reading a setting")
        print("DEBUG", plugit.params.DEBUG, plugit.app.config["DEBUG"])
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "action PlugItAPI",
        "DefaultApp True",
        "before reading a setting",
        "config read",
        "DEBUG True True",
    ]


def test_config_is_seeded_with_the_upper_case_names(fresh_default_app: Path) -> None:
    (fresh_default_app / "config.py").write_text(
        "import os\nDEBUG = True\nAPI_URL = 'http://proxy/api/'\nMY_LIMIT = 3\nhelper = 1\n"
    )
    config = plugit.app.config

    assert config == {"DEBUG": True, "API_URL": "http://proxy/api/", "MY_LIMIT": 3}
    config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///x.db"
    assert plugit.app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x.db"


def test_without_config_py_the_config_is_empty(fresh_default_app: Path) -> None:
    assert plugit.app.config == {}
    assert plugit.params.DEBUG is False


def write_actions(folder: Path, name: str) -> None:
    (folder / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import plugit
            from plugit.utils import action

            @action(route="/database")
            def database(request):
                return {"uri": plugit.app.config["SQLALCHEMY_DATABASE_URI"]}
            """
        )
    )


def test_config_set_after_load_actions_is_read_by_actions(fresh_default_app: Path) -> None:
    (fresh_default_app / "config.py").write_text("DEBUG = False\n")
    write_actions(fresh_default_app, "config_after_actions")
    import config_after_actions  # type: ignore[import-not-found]

    plugit.load_actions(config_after_actions)
    plugit.app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///after.db"

    with LiveServer(plugit.app) as server:
        answer = httpx.get(server.url + "/action/database")
    assert answer.json() == {"uri": "sqlite:///after.db"}


def test_config_set_before_load_actions_makes_the_settings(fresh_default_app: Path) -> None:
    (fresh_default_app / "config.py").write_text("PI_API_NAME = 'From config.py'\n")
    write_actions(fresh_default_app, "config_before_actions")
    import config_before_actions  # type: ignore[import-not-found]

    plugit.app.config["PI_API_NAME"] = "Set in server.py"
    plugit.app.config["PI_ALLOWED_NETWORKS"] = ["10.0.0.0/8"]
    plugit.app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///before.db"
    service = plugit.load_actions(config_before_actions)

    assert service.settings.api_name == "Set in server.py"
    assert plugit.params.PI_API_NAME == "Set in server.py"
    with LiveServer(plugit.app) as server:
        assert httpx.get(server.url + "/version").json()["protocol"] == "Set in server.py"
        assert httpx.get(server.url + "/action/database").status_code == 404  # not 10/8


def test_run_takes_the_original_arguments_and_plugit_port(
    tmp_path: Path,
    free_port: Callable[..., int],
    spawn_server: Callable[..., subprocess.Popen[str]],
) -> None:
    (tmp_path / "config.py").write_text("DEBUG = True\n")
    write_actions(tmp_path, "actions")
    (tmp_path / "server.py").write_text(
        "import plugit\n"
        "import actions\n"
        "plugit.load_actions(actions)\n"
        "plugit.app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///run.db'\n"
        "plugit.app.run(host='127.0.0.1', debug=plugit.params.DEBUG, threaded=True)\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spawn_server(
        ["python", "server.py"], cwd=tmp_path, url=url + "/version", env={"PLUGIT_PORT": str(port)}
    )
    assert httpx.get(url + "/action/database").json() == {"uri": "sqlite:///run.db"}
    assert httpx.get(url + "/meta/database").headers["cache-control"] == "public, max-age=0"


@pytest.mark.parametrize("port", ["-1", "70000", "http"])
def test_a_bad_plugit_port_is_a_configuration_error(
    fresh_default_app: Path, monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setenv("PLUGIT_PORT", port)
    with pytest.raises(plugit.ConfigurationError, match=r"port|PLUGIT_PORT"):
        plugit.Settings.load({})
