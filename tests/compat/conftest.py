"""The service written in the original PlugIt's style, started as its authors start it.

`original_service` (module scope) runs `python server.py` in `original_service/` on a free
port (the port comes from `PLUGIT_PORT`: its `server.py`, like the original example, names
none) and yields its base URL once it answers `ping`. Later fixtures put a proxy in front.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ORIGINAL_SERVICE = Path(__file__).parent / "original_service"
ServerProcess = Callable[..., contextlib.AbstractContextManager[subprocess.Popen[str]]]


@pytest.fixture(scope="module")
def original_service(free_port: Callable[..., int], server_process: ServerProcess) -> Iterator[str]:
    """The base URL of the original-style service, running as `python server.py`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PLUGIT_PORT": str(port)}
    with server_process(["python", "server.py"], cwd=ORIGINAL_SERVICE, url=url + "/ping", env=env):
        yield url
