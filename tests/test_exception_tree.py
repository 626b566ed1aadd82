"""Every exception class in src/ is a PlugItError, and plugit/exceptions.py draws them all."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import plugit.exceptions

SRC = Path(__file__).resolve().parents[1] / "src"

# Exception classes of src/ that are deliberately not PlugItErrors, each with its reason.
# Empty today: every error PlugIt raises on purpose has the one root.
OUTSIDE_THE_TREE: dict[str, str] = {}

# Run in a fresh interpreter: importing every module sets Django up and reads the proxy's
# settings, which must not leak into the process running the other tests.
_WALK = """
import importlib, inspect, json, pkgutil, sys
import django
django.setup()
found = {}
for package in ("plugit", "plugit_proxy"):
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue  # runs the CLI when imported
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[name] = [f"{b.__module__}.{b.__qualname__}" for b in value.__mro__[1:]]
json.dump(found, sys.stdout)
"""


@functools.cache
def exception_classes() -> dict[str, list[str]]:
    """Each exception class defined in src/, by name, with its MRO (qualified names)."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "plugit_proxy.settings",
            "PLUGIT_DATA_DIR": data_dir,
            "PLUGIT_SECRET_KEY": "exception-tree-test-" + "x" * 40,
        }
        done = subprocess.run(
            [sys.executable, "-c", _WALK],
            capture_output=True,
            text=True,
            env=env,
            cwd=data_dir,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


def documented_tree() -> dict[str, str]:
    """Each class drawn in plugit/exceptions.py's docstring, with the parent it is drawn under."""
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in (plugit.exceptions.__doc__ or "").splitlines():
        drawn = re.match(r"^((?:[│ ] {3})*)(?:[├└]── )?([A-Z]\w+)\b", line)
        if drawn is None or not ("── " in line or line.strip() == "PlugItError"):
            continue
        depth = len(drawn.group(1)) // 4 + (1 if "── " in line else 0)
        del stack[depth:]
        name = drawn.group(2)
        if stack:
            parents[name] = stack[-1]
        stack.append(name)
    return parents


def test_every_exception_class_is_a_plugit_error() -> None:
    classes = exception_classes()
    assert "UpstreamError" in classes  # the walk reached the proxy
    outside = {
        name
        for name, mro in classes.items()
        if "plugit.exceptions.PlugItError" not in mro and name != "PlugItError"
    }
    assert outside == set(OUTSIDE_THE_TREE)


def test_the_docstring_draws_every_exception_class_under_its_parent() -> None:
    classes = exception_classes()
    drawn = documented_tree()
    assert set(drawn) == set(classes) - {"PlugItError"} - set(OUTSIDE_THE_TREE)
    for name, parent in drawn.items():
        direct = classes[name][0].rsplit(".", 1)[1]
        assert direct == parent, f"{name} is drawn under {parent} but derives from {direct}"
