"""The "runs unchanged" `server.py` of docs/writing-a-service.md runs exactly as written."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

DOC = Path(__file__).parents[2] / "docs" / "writing-a-service.md"


def original_server_snippet() -> str:
    """The first Python block of the section on services written for the original PlugIt."""
    section = DOC.read_text().split("## Services written for the original PlugIt", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no Python block"
    return found.group(1)


def test_the_snippet_is_the_original_shape() -> None:
    lines = [line for line in original_server_snippet().splitlines() if line]
    assert lines[:3] == ["import plugit", "import actions", "plugit.load_actions(actions)"]
    assert lines[-1].startswith("plugit.app.run(")


def test_the_snippet_runs_as_written(
    tmp_path: Path,
    free_port: Callable[..., int],
    spawn_server: Callable[..., subprocess.Popen[str]],
) -> None:
    (tmp_path / "server.py").write_text(original_server_snippet())
    (tmp_path / "config.py").write_text("DEBUG = True\nPI_ALLOWED_NETWORKS = ['127.0.0.1/32']\n")
    (tmp_path / "actions.py").write_text(
        "import plugit\n"
        "from plugit.utils import action\n\n\n"
        "@action(route='/')\n"
        "def home(request):\n"
        "    return {'db': plugit.app.config['SQLALCHEMY_DATABASE_URI'],\n"
        "            'debug': plugit.app.config['DEBUG']}\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PLUGIT_PORT": str(port)}
    spawn_server(["python", "server.py"], cwd=tmp_path, url=url + "/version", env=env)

    assert httpx.get(url + "/action/").json() == {"db": "sqlite:///service.db", "debug": True}
    assert httpx.get(url + "/meta/").headers["cache-control"] == "public, max-age=0"  # DEBUG
