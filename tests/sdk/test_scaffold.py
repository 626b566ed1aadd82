"""`plugit new service NAME`: the files it writes, and that they make a working service."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from plugit.cli import main
from plugit.scaffold import ScaffoldError, check_name, create_service, render
from plugit.simulation import LOGGED
from plugit.testing import ServiceClient

EXPECTED_FILES = {
    ".gitignore",
    "README.md",
    "config.py",
    "media/demo_svc.css",
    "pyproject.toml",
    "service.py",
    "templates/home.html",
    "tests/test_service.py",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def project(workdir: Path) -> Path:
    """A service scaffolded by the CLI, in-process."""
    assert main(["new", "service", "demo_svc"]) == 0
    return workdir / "demo_svc"


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def run_python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python args...` as a user would, in `cwd`."""
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


# -- what it writes ----------------------------------------------------------------------------
def test_the_cli_writes_a_service_and_says_what_next(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    assert files_of(project) == EXPECTED_FILES
    out = capsys.readouterr().out
    assert "Created the service 'demo_svc' in demo_svc:" in out
    for name in EXPECTED_FILES:
        assert f"  {name}\n" in out
    hints = [line.split("#")[0].strip() for line in out.split("\nNext:\n")[1].splitlines()]
    assert hints[:4] == [
        "cd demo_svc",
        "pip install -e '.[test]'",
        "python -m pytest",
        "plugit serve service:service --port 5000",
    ]
    assert "install the proxy (pip install 'plugit3[proxy]')" in out
    assert "plugit proxy --service http://127.0.0.1:5000" in hints
    assert "plugit dev" in hints


def test_the_files_are_filled_in(project: Path) -> None:
    home = (project / "templates/home.html").read_text()
    assert home.startswith('{% extends "plugIt/base.html" %}')
    assert "{% block title %}Demo svc{% endblock %}" in home
    assert 'href="{{ ebuio_baseUrl }}media/demo_svc.css"' in home  # Django's {{ }} untouched
    assert 'Service(\n    "demo_svc",' in (project / "service.py").read_text()
    readme = (project / "README.md").read_text()
    for command in (
        "pip install -e '.[test]'",
        "pip install 'plugit3[proxy]'",
        "python -m pytest",
        "plugit dev",
        "plugit serve service:service --port 5000",
        "plugit proxy --service http://127.0.0.1:5000",
    ):
        assert command in readme, command
    config = (project / "config.py").read_text()
    for setting in ("DEBUG", "PI_BASE_URL", "PI_ALLOWED_NETWORKS", "PI_USE_PROXY_IP", "API_URL"):
        assert f"\n{setting} = " in config
    for path in project.rglob("*"):
        if path.is_file():
            assert "{{name}}" not in path.read_text(), path


def test_it_is_an_installable_project(project: Path) -> None:
    """What `pip install -e '.[test]'` needs (tests/packaging runs it in a fresh virtualenv)."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    assert pyproject["project"]["name"] == "demo_svc"
    assert pyproject["project"]["dependencies"] == ["plugit3"]
    assert any(
        need.startswith("pytest") for need in pyproject["project"]["optional-dependencies"]["test"]
    )
    modules = pyproject["tool"]["setuptools"]["py-modules"]
    assert sorted(f"{module}.py" for module in modules) == ["config.py", "service.py"]
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ".plugit/" in ignored
    assert "*.egg-info/" in ignored


def test_the_directory_option(workdir: Path) -> None:
    assert main(["new", "service", "elsewhere", "--directory", "sub/dir"]) == 0
    assert (workdir / "sub/dir/elsewhere/service.py").is_file()


def test_as_a_subprocess(workdir: Path) -> None:
    result = run_python("-m", "plugit", "new", "service", "sub_svc", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Created the service 'sub_svc'" in result.stdout
    assert (workdir / "sub_svc/media/sub_svc.css").is_file()


# -- refusals ------------------------------------------------------------------------------------
def test_an_existing_directory_is_left_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "demo_svc").mkdir()
    (workdir / "demo_svc/mine.txt").write_text("keep me")
    assert main(["new", "service", "demo_svc"]) == 2
    assert "demo_svc already exists: choose another name or remove it" in capsys.readouterr().err
    assert files_of(workdir / "demo_svc") == {"mine.txt"}


@pytest.mark.parametrize(
    "name", ["Bad Name", "MyService", "1st", "my-svc", "class", "_x", "a" * 51]
)
def test_a_bad_name_is_refused(
    workdir: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "service", name]) == 2
    err = capsys.readouterr().err
    assert f"plugit: error: {name!r} is not a valid service name" in err
    assert "e.g. 'my_service'" in err
    assert list(workdir.iterdir()) == []


def test_names_and_substitution() -> None:
    assert check_name("polls_2") == "polls_2"
    with pytest.raises(ScaffoldError):
        create_service("not ok", Path("unused"))
    assert render("{{name}} {{ name }} {{title}}", {"name": "a", "title": "A"}) == "a {{ name }} A"
    with pytest.raises(KeyError, match="typo"):
        render("{{typo}}", {})


# -- the generated service works -----------------------------------------------------------------
def test_the_generated_tests_pass(project: Path) -> None:
    result = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_generated_service_serves_its_home_page(project: Path) -> None:
    with serving(project) as url, ServiceClient.at(url) as client:
        page = client.get("/", user=LOGGED)
        assert page.status_code == 200
        assert page.data == {"greeting": "Hello, Logged!"}
        assert page.template is not None
        assert "{{ greeting }}" in page.template
        assert client.get("/hello.json", query={"name": "Ada"}).data == {"message": "Hello, Ada!"}


@contextlib.contextmanager
def serving(project: Path) -> Iterator[str]:
    """Run `plugit serve service:service` in `project` on a free port; yield its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "plugit", "serve", "service:service", "--port", str(port)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLUGIT_DEBUG": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(process: subprocess.Popen[str], url: str, deadline: float = 20) -> None:
    """Return once `url` answers ping; fail at once if the server exits, or after `deadline`."""
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if process.poll() is not None:
            pytest.fail(f"the service exited ({process.returncode}): {process.communicate()[1]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/ping?data=up", timeout=1).json() == {"data": "up"}:
                return
        time.sleep(0.05)
    pytest.fail(f"the service did not answer on {url} within {deadline} s")
