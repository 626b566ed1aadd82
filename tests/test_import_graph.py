"""The import graph of `src/`: no loops, and the arrows point one way.

Read from the source with `ast` (nothing is imported). An import counts when it runs as its
module is imported: at module level, in a class body, a `try` or an `if` (never under
`if TYPE_CHECKING:`, which is for annotations only). An import inside a function runs when the
function does: it is counted apart, as a deferred import.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGES = ("plugit", "plugit_proxy")
PIPELINE = "plugit_proxy.pipeline"
# What the page pipeline must not lean on: the template tag library and the standalone mode
# (it serves the hosted platform just the same).
NOT_FOR_THE_PIPELINE = ("plugit_proxy.templatetags", "plugit_proxy.standalone")
# The SDK's command line starts the proxy when it is installed (`plugit proxy`, `plugit demo`).
SDK_CLI = "plugit.cli"


@dataclass
class Module:
    """One module of `src/`: where its imports lead, at import time and deferred."""

    name: str
    path: Path
    is_package: bool
    eager: dict[str, int] = field(default_factory=dict)  # imported module -> line
    deferred: dict[str, int] = field(default_factory=dict)


def module_name(path: Path) -> tuple[str, bool]:
    """Give the dotted name of a file under `src/`, and whether it is a package's `__init__`."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def is_type_checking(test: ast.expr) -> bool:
    """Tell `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`) apart from other conditions."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(
    body: list[ast.stmt], deferred: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Yield every import statement of `body`, with whether it waits for a function call."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, deferred
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from imports(node.body, deferred=True)
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            yield from imports(node.orelse, deferred)  # the `if` branch is for annotations
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from imports([child], deferred)
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    yield from imports(child.body, deferred)


def targets(node: ast.Import | ast.ImportFrom, module: Module, known: set[str]) -> set[str]:
    """Name the modules of `src/` that an import statement loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & known
    if node.level:
        package = module.name if module.is_package else module.name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    submodules = {f"{base}.{alias.name}" for alias in node.names} & known
    if len(submodules) == len(node.names):  # `from package import module, ...`
        return submodules
    return submodules | ({base} & known)


def read_modules() -> dict[str, Module]:
    """Parse every module of the packages under `src/`."""
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            name, is_package = module_name(path)
            modules[name] = Module(name, path, is_package)
    known = set(modules)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        for node, deferred in imports(tree.body):
            found = module.deferred if deferred else module.eager
            for target in targets(node, module, known) - {module.name}:
                found.setdefault(target, node.lineno)
    return modules


MODULES = read_modules()


def within(name: str, package: str) -> bool:
    """Tell whether module `name` is `package` or inside it."""
    return name == package or name.startswith(package + ".")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Give one loop of `graph` as a path that ends where it starts, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif step in on_path:
                return [*path[path.index(step) :], step]
            elif step not in done:
                path.append(step)
                on_path.add(step)
                stack.append(iter(sorted(graph[step])))
    return None


def graph_of(package: str, *, with_deferred: bool) -> dict[str, set[str]]:
    """The import graph between the modules of `package`."""
    graph: dict[str, set[str]] = {}
    for name, module in MODULES.items():
        if within(name, package):
            arrows = set(module.eager) | (set(module.deferred) if with_deferred else set())
            graph[name] = {target for target in arrows if within(target, package)}
    return graph


def describe(cycle: list[str]) -> str:
    """Spell a loop out, each arrow with the line of the import that draws it."""
    arrows = []
    for source, target in itertools.pairwise(cycle):
        module = MODULES[source]
        line = module.eager.get(target) or module.deferred.get(target)
        arrows.append(f"  {source} -> {target}   ({module.path.relative_to(SRC)}:{line})")
    return "import loop:\n" + "\n".join(arrows)


def test_the_reader_sees_a_loop_and_skips_what_does_not_run_at_import() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import b\n"
        "from .c import thing\n"
        "if TYPE_CHECKING:\n"
        "    from .d import Annotation\n"
        "try:\n"
        "    from .e import fast\n"
        "except ImportError:\n"
        "    from .f import slow\n"
        "def later():\n"
        "    from .g import deferred\n"
    )
    module = Module("pkg.a", Path("pkg/a.py"), is_package=False)
    known = {f"pkg.{name}" for name in "abcdefg"}
    found = {
        (target, deferred)
        for node, deferred in imports(ast.parse(source).body)
        for target in targets(node, module, known)
    }
    assert found == {
        ("pkg.b", False),
        ("pkg.c", False),
        ("pkg.e", False),
        ("pkg.f", False),
        ("pkg.g", True),
    }
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_loops(package: str) -> None:
    cycle = find_cycle(graph_of(package, with_deferred=False))
    assert cycle is None, describe(cycle or [])


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_loops_even_through_deferred_imports(package: str) -> None:
    """A loop closed by an import inside a function is a loop all the same, only hidden."""
    cycle = find_cycle(graph_of(package, with_deferred=True))
    assert cycle is None, describe(cycle or [])


def test_the_sdk_imports_without_the_proxy() -> None:
    found = [
        f"{module.path.relative_to(SRC)}:{line} imports {target}"
        for module in MODULES.values()
        if within(module.name, "plugit")
        for target, line in module.eager.items()
        if within(target, "plugit_proxy")
    ]
    assert found == [], "plugit imports plugit_proxy at import time:\n" + "\n".join(found)


def test_only_the_sdk_command_line_reaches_for_the_proxy() -> None:
    found = [
        f"{module.path.relative_to(SRC)}:{line} imports {target}"
        for module in MODULES.values()
        if within(module.name, "plugit") and not within(module.name, SDK_CLI)
        for target, line in {**module.deferred, **module.eager}.items()
        if within(target, "plugit_proxy")
    ]
    assert found == [], "plugit's core imports plugit_proxy:\n" + "\n".join(found)


def test_the_pipeline_leans_on_neither_template_tags_nor_standalone_mode() -> None:
    found = [
        f"{module.path.relative_to(SRC)}:{line} imports {target}"
        for module in MODULES.values()
        if within(module.name, PIPELINE)
        for target, line in {**module.deferred, **module.eager}.items()
        if any(within(target, banned) for banned in NOT_FOR_THE_PIPELINE)
    ]
    assert found == [], "the pipeline imports:\n" + "\n".join(found)


def test_the_system_checks_do_not_import_the_asgi_entry() -> None:
    checks = MODULES["plugit_proxy.checks"]
    assert "plugit_proxy.asgi" not in {**checks.eager, **checks.deferred}
