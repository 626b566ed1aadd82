"""The proxy's one configuration: typed values, refused by name, flags over environment."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from plugit.exceptions import ConfigurationError
from plugit.testing import LiveServer
from plugit_proxy.conf import FLAGS_VARIABLE, Configuration, load_configuration, load_mail_commands

from .test_live import start_proxy, stop

SRC = Path(__file__).resolve().parents[2] / "src" / "plugit_proxy"


def load(**environ: str) -> Configuration:
    return load_configuration(environ=environ)


# One bad value per type: the error names the variable, repeats the value, says what is accepted.
BAD_VALUES = [
    ("PLUGIT_ORGA_MODE", "treu", "is not a boolean: use 1/0, true/false, yes/no, on/off"),
    ("PLUGIT_UPSTREAM_BREAKER_FAILURES", "five", "is not a whole number"),
    ("PLUGIT_TRUSTED_PROXIES", "0", "is not 1 or more"),
    ("PLUGIT_UPSTREAM_TIMEOUT", "soon", "is not a number of seconds"),
    ("PLUGIT_BODY_TIMEOUT", "0", "is not a duration above 0"),
    ("PLUGIT_MAX_BODY", "10 parsecs", "is not a size: use a number of bytes, or e.g. 10MiB"),
    ("PLUGIT_SERVICE_URL", "127.0.0.1:5000", "is not a URL: use http://host... or https://host"),
    ("PLUGIT_REDIS_URL", "localhost:6379", "is not a URL: use redis://"),
    ("PLUGIT_LAYOUT", "fancy", "is not a known choice: use one of modern, legacy"),
    ("PLUGIT_MODE", "hosted", "is not a known choice: use one of standalone, platform"),
    ("PIAPI_ORGAMODE", "maybe", "is not a boolean"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_VALUES)
def test_a_bad_value_is_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load(**{name: value})
    assert str(error.value).startswith(f"{name}={value!r} {message}")


def test_a_list_is_split_on_commas() -> None:
    config = load(PLUGIT_USER_FIELDS=" id, email ,,username", PLUGIT_ALLOWED_HOSTS="")
    assert config.standalone.user_fields == ("id", "email", "username")
    assert config.server.allowed_hosts == ()  # blank: unset


def test_values_are_typed() -> None:
    config = load(
        PLUGIT_ORGA_MODE="Off",
        PLUGIT_PROXY_MODE=" YES ",
        PLUGIT_MAX_BODY="2MiB",
        PLUGIT_CACHE_SIZE_LIMIT="500KB",
        PLUGIT_UPSTREAM_TIMEOUT="2.5",
        PLUGIT_UPSTREAM_MAX_BODY="4096",
        PLUGIT_LAYOUT="Legacy",
        PLUGIT_PORT="9000",
    )
    assert (config.standalone.orga_mode, config.standalone.proxy_mode) == (False, True)
    assert (config.server.max_body, config.cache.size_limit) == (2 * 1024 * 1024, 500_000)
    assert (config.upstream.timeout, config.upstream.max_body) == (2.5, 4096)
    assert (config.standalone.layout, config.server.port) == ("legacy", 9000)


def test_flags_override_environment_override_defaults() -> None:
    assert load().standalone.orga_mode is True  # the default
    environ = {"PLUGIT_ORGA_MODE": "0", "PLUGIT_PORT": "9000", "PLUGIT_MENU_ACTION": "nav"}
    from_env = load_configuration(environ=environ)
    assert (from_env.standalone.orga_mode, from_env.server.port) == (False, 9000)
    flags = {"PLUGIT_ORGA_MODE": True, "PLUGIT_PORT": 7000, "PLUGIT_MENU_ACTION": ""}
    flagged = load_configuration(flags, environ=environ)
    assert (flagged.standalone.orga_mode, flagged.server.port) == (True, 7000)
    assert flagged.standalone.menu_action is None  # '' from the command line: no menu
    unset = load_configuration({"PLUGIT_ORGA_MODE": None}, environ=environ)
    assert unset.standalone.orga_mode is False  # a flag not given leaves the variable


def test_the_original_names_are_accepted() -> None:
    config = load(
        PIAPI_STANDALONE_URI="http://127.0.0.1:5000",
        PIAPI_ORGAMODE="false",
        PIAPI_PROXYMODE="true",
        PIAPI_PLUGITMENUACTION="nav",
        PIAPI_USERDATA="id,username",
        HONOR_X_FORWARDED_FOR="1",
    )
    standalone = config.standalone
    assert standalone.service_url == "http://127.0.0.1:5000"
    assert (standalone.orga_mode, standalone.proxy_mode) == (False, True)
    assert (standalone.menu_action, standalone.user_fields) == ("nav", ("id", "username"))
    assert standalone.honor_x_forwarded_for is True
    both = load(PLUGIT_ORGA_MODE="1", PIAPI_ORGAMODE="0")
    assert both.standalone.orga_mode is True  # the new name wins


def test_workers_rebuild_the_flags_from_one_variable() -> None:
    parent = load_configuration(
        {"PLUGIT_SERVICE_URL": "http://127.0.0.1:5000", "PLUGIT_ORGA_MODE": False},
        environ={"PLUGIT_PORT": "9000"},
    )
    import json

    inherited = {"PLUGIT_PORT": "9000", FLAGS_VARIABLE: json.dumps(dict(parent.flags))}
    worker = load_configuration(environ=inherited)
    assert worker == parent
    with pytest.raises(ConfigurationError, match=f"{FLAGS_VARIABLE}='oops' is not a JSON"):
        load_configuration(environ={FLAGS_VARIABLE: "oops"})


def _proxy_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLUGIT_", "DJANGO_"))}
    return {**env, "PLUGIT_DATA_DIR": str(tmp_path), **extra}


def test_the_command_line_refuses_a_bad_boolean_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugit", "proxy", "--service", "http://x"],
        env=_proxy_env(tmp_path, PLUGIT_ORGA_MODE="treu"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "plugit: error: PLUGIT_ORGA_MODE='treu' is not a boolean: "
        "use 1/0, true/false, yes/no, on/off\n"
    )
    assert not (tmp_path / "secret_key").exists()  # refused before anything touched the disk


def test_the_settings_module_stands_alone(tmp_path: Path) -> None:
    """`DJANGO_SETTINGS_MODULE=plugit_proxy.settings` (manage.py, django-admin) still works."""
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.PLUGIT_CONFIGURATION.standalone.orga_mode, settings.PLUGIT_MODE,"
        " settings.PLUGIT_MAX_BODY, len(settings.SECRET_KEY) > 40)\n"
    )
    env = _proxy_env(
        tmp_path / "data",
        DJANGO_SETTINGS_MODULE="plugit_proxy.settings",
        PLUGIT_ORGA_MODE="no",
        PLUGIT_MAX_BODY="1MiB",
        PLUGIT_MODE="platform",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "platform", str(2**20), "True"]
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "db.sqlite3").stat().st_mode & 0o077 == 0


# Modules that may still touch os.environ, and why. Nothing else in plugit_proxy reads it.
ENVIRON_ALLOWED = {
    "conf.py": "the configuration: reads the variables, writes PLUGIT_FLAGS for workers",
    "setup.py": "points Django at its settings module (DJANGO_SETTINGS_MODULE)",
    "platform/schema.py": "expands ${VAR} in the platform file from the environment",
}


def _environ_readers(path: Path) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv"}:
            return True
        imported = node.names if isinstance(node, ast.ImportFrom) and node.module == "os" else []
        if any(alias.name in {"environ", "getenv"} for alias in imported):
            return True
    return False


def test_only_the_configuration_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts and _environ_readers(path)
    }
    assert readers <= set(ENVIRON_ALLOWED), sorted(readers - set(ENVIRON_ALLOWED))


def test_the_mail_commands_read_the_same_way() -> None:
    environ = {"PLUGIT_MAIL_POLL_INTERVAL": "30", "PLUGIT_MAIL_POLL_SECURITY": "STARTTLS"}
    settings = load_mail_commands(environ=environ)
    assert (settings.poll_interval, settings.poll_security) == (30.0, "starttls")
    flagged = load_mail_commands({"PLUGIT_MAIL_POLL_INTERVAL": 5.0}, environ=environ)
    assert flagged.poll_interval == 5.0
    with pytest.raises(ConfigurationError, match="PLUGIT_MAIL_WORKER_ONCE='yse' is not a boolean"):
        load_mail_commands(environ={"PLUGIT_MAIL_WORKER_ONCE": "yse"})


def test_worker_processes_get_the_flags(tmp_path: Path, demo_service: LiveServer) -> None:
    """Two uvicorn workers, started afresh, serve with the flags given to the parent."""
    process, url = start_proxy(demo_service.url, tmp_path / "data", PLUGIT_WORKERS="2")
    try:
        for _ in range(6):  # the kernel spreads the connections over both workers
            with httpx.Client() as client:
                response = client.get(url + "/plugIt/")
            assert response.status_code == 200
            assert "Hello stranger" in response.text
    finally:
        stop(process)
