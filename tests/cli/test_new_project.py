"""`plugit new project`, `plugit new service` inside it, `plugit serve --all`, as a user runs them.

The project is the one the command writes; its own tests run with `python -m pytest` in it,
its services are served by the real `plugit serve --all` and browsed through a real
`plugit proxy` started with the command its README prints.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dev_kit import clean_environment, poll_until, running
from plugit.simulation import LOGGED
from plugit.testing import ServiceClient

from .commands import PLUGIT, run_plugit

pytestmark = pytest.mark.timeout(400)

PROJECT_FILES = {
    ".gitignore",
    "README.md",
    "config.py",
    "plugit-project.toml",
    "pyproject.toml",
    "services/__init__.py",
    "tests/test_serve_all.py",
}


def service_files(name: str) -> set[str]:
    return {
        f"services/{name}/__init__.py",
        f"services/{name}/media/{name}.css",
        f"services/{name}/service.py",
        f"services/{name}/templates/home.html",
        f"tests/test_{name}.py",
    }


def files_of(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with the services hello and world, written by the command."""
    result = run_plugit(
        "new", "project", "greetings", "--service", "hello", "--service", "world", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "greetings"


def test_new_project_writes_a_project_and_says_what_next(tmp_path: Path) -> None:
    result = run_plugit("new", "project", "greetings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "greetings"
    assert files_of(project) == PROJECT_FILES | service_files("hello")
    assert result.stdout.startswith("Created the project 'greetings' in greetings:\n")
    next_lines = result.stdout.split("\nNext:\n")[1].splitlines()
    hints = [line.split("#")[0].strip() for line in next_lines]
    assert hints[:4] == [
        "cd greetings",
        "pip install -e '.[test]'",
        "python -m pytest",
        "plugit serve --all --port 5000",
    ]
    assert "plugit proxy --service http://127.0.0.1:5000/hello/" in hints
    assert "plugit new service NAME" in hints
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "greetings"
    assert pyproject["project"]["dependencies"] == ["plugit3"]
    assert tomllib.loads((project / "plugit-project.toml").read_text()) == {"name": "greetings"}
    assert ".plugit/" in (project / ".gitignore").read_text().splitlines()


def test_new_service_inside_a_project_adds_it_there(project: Path) -> None:
    result = run_plugit("new", "service", "third", cwd=project / "services")
    assert result.returncode == 0, result.stderr
    assert "Added the service 'third' to the project 'greetings'" in result.stdout
    assert "it is served at /third/" in result.stdout
    expected = PROJECT_FILES | service_files("hello") | service_files("world")
    assert files_of(project) == expected | service_files("third")
    assert not (project / "services/third/pyproject.toml").exists()  # one pyproject


def test_a_service_the_project_has_is_refused(project: Path) -> None:
    before = (project / "services/hello/service.py").read_text()
    result = run_plugit("new", "service", "hello", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("plugit: error: ")
    assert "services/hello already exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "services/hello/service.py").read_text() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("new", "service", "x", "--service", "y"), "use it with `plugit new project NAME`"),
        (("new", "project", "p", "--service", "a", "--service", "a"), "named twice"),
        (("new", "project", "p", "--service", "Bad"), "'Bad' is not a valid service name"),
        (("new", "project", "Bad-Name"), "'Bad-Name' is not a valid service name"),
    ],
)
def test_bad_names_are_one_line_errors(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    result = run_plugit(*argv, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_generated_tests_pass_at_once(project: Path) -> None:
    assert run_plugit("new", "service", "third", cwd=project).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 passed" in result.stdout  # 4 per service, and the project's own


def test_serve_all_serves_each_service_under_its_prefix(
    project: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(PLUGIT), "serve", "--all", "--port", str(port)]
    with running(argv, cwd=project, env=clean_environment(), logs=tmp_path / "all") as command:
        poll_until(lambda: httpx.get(f"{base}/world/ping?data=up").text, lambda t: "up" in t)
        for name in ("hello", "world"):
            with ServiceClient.at(f"{base}/{name}/") as client:
                page = client.get("/", user=LOGGED)
                assert page.data == {"greeting": f"Hello from {name}, Logged!"}
                assert page.template is not None
                assert f"services/{name}/templates" in page.template
                hello = client.get("/hello.json", query={"name": "Ada"}).data
                assert hello == {"message": "Hello, Ada!", "service": name}
            assert f".{name} h1" in httpx.get(f"{base}/{name}/media/{name}.css").text
        printed = command.stdout.read_text()
        assert f"Project 'greetings': 2 services on {base}/\n" in printed
        assert f"  {base}/hello/\n  {base}/world/\n" in printed
        assert f'slug = "world"\nname = "world"\nservices = ["{base}/world/"]' in printed
        assert command.interrupt() == 0, command.output


def test_serve_all_outside_a_project_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_plugit("serve", "--all", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"plugit: error: --all serves a project's services, and {tmp_path.resolve()} is not in "
        "a project (no plugit-project.toml): create one with `plugit new project NAME`\n"
    )
    result = run_plugit("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "name the service to serve (module:attribute" in result.stderr


def test_a_service_behind_the_proxy_with_the_readme_commands(
    project: Path, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    readme = (project / "README.md").read_text()
    serve_line = "plugit serve --all --port 5000"
    proxy_line = "plugit proxy --service http://127.0.0.1:5000/hello/"
    assert f"$ {serve_line}\n" in readme
    assert f"$ {proxy_line}\n" in readme
    port, proxy_port = free_port(), free_port()
    serve = [str(PLUGIT), *serve_line.split()[1:-1], str(port)]
    proxy = [
        str(PLUGIT),
        *proxy_line.replace(":5000/", f":{port}/").split()[1:],
        "--port",
        str(proxy_port),
    ]
    env = clean_environment()
    with (
        running(serve, cwd=project, env=env, logs=tmp_path / "serve"),
        running(proxy, cwd=project, env=env, logs=tmp_path / "proxy") as proxy_command,
    ):
        page = poll_until(
            lambda: httpx.get(f"http://127.0.0.1:{proxy_port}/plugIt/", timeout=10).text,
            lambda text: "Hello from hello!" in text,
            timeout=180,
        )
        assert '<div class="hello">' in page
        assert re.search(r"<title>Hello\b", page)
        css = httpx.get(f"http://127.0.0.1:{proxy_port}/plugIt/media/hello.css")
        assert ".hello h1" in css.text
        assert proxy_command.process.poll() is None
