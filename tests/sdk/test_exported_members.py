"""`plugit`'s public surface: what each module's `__all__` promises is what the code uses."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import plugit

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_TOP_LEVEL = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "Abort",
    "ActionCall",
    "CallNext",
    "ConfigurationError",
    "PlugItError",
    "Redirect",
    "Request",
    "SendFile",
    "Service",
    "SetSession",
    "Settings",
    "__version__",
    "abort",
    "api",
    "app",
    "load_actions",
    "params",
    "utils",
]

# Being reshaped to break the endpoints <-> service import loop (issue #10); each gets its
# `__all__` with that change, and then leaves this set (the test below insists).
AWAITING_ALL: set[str] = set()


def is_private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def public_modules() -> dict[str, ModuleType]:
    """Every module of `plugit` without a leading underscore in its dotted name."""
    names = ["plugit"] + [info.name for info in pkgutil.walk_packages(plugit.__path__, "plugit.")]
    return {
        name: importlib.import_module(name)
        for name in names
        if not is_private(name) and name != "plugit.__main__"  # __main__ runs the CLI
    }


def test_the_top_level_exports_exactly_the_expected_names() -> None:
    assert plugit.__all__ == EXPECTED_TOP_LEVEL
    assert sorted(plugit.__all__) == sorted(EXPECTED_TOP_LEVEL)  # no name twice


@pytest.mark.parametrize("name", sorted(public_modules()))
def test_every_public_module_has_an_all_of_names_it_defines(name: str) -> None:
    module = public_modules()[name]
    if name in AWAITING_ALL:
        assert not hasattr(module, "__all__"), f"{name} has an __all__: drop it from AWAITING_ALL"
        return
    assert hasattr(module, "__all__"), f"{name} has no __all__ (or give it a leading underscore)"
    missing = [member for member in module.__all__ if not hasattr(module, member)]
    assert missing == []
    assert len(set(module.__all__)) == len(module.__all__)


def code_sources() -> Iterator[tuple[str, str, str | None]]:
    """(where, Python text, its module name when it is part of `src/`) of every code we ship."""
    for folder in ("src", "tests", "examples", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            module = None
            if folder == "src":
                parts = list(path.relative_to(ROOT / "src").with_suffix("").parts)
                module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"), module
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            yield f"{path.relative_to(ROOT)} (block {number + 1})", block, None


def imported_names(text: str, module: str | None, is_package: bool) -> Iterator[tuple[str, str]]:
    """(module, name) for each `from module import name` of `text` (relative ones resolved)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return  # a doc fragment that is not a whole program
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        source = node.module or ""
        if node.level:
            if module is None:
                continue
            package = module.split(".")
            package = package[: len(package) - node.level + (1 if is_package else 0)]
            source = ".".join([*package, *([node.module] if node.module else [])])
        for alias in node.names:
            if alias.name != "*":
                yield source, alias.name


def test_no_code_imports_a_name_outside_the_module_all() -> None:
    modules = public_modules()
    offences = []
    for where, text, module in code_sources():
        is_package = where.endswith("__init__.py")
        for source, name in imported_names(text, module, is_package):
            target = modules.get(source)
            if target is None or source in AWAITING_ALL or f"{source}.{name}" in modules:
                continue  # not a public plugit module, or a submodule imported by name
            if name not in target.__all__:
                offences.append(f"{where}: from {source} import {name}")
    assert offences == []
