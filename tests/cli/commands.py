"""The `plugit` command as a user runs it: the installed script, in a subprocess."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from plugit.cli import build_parser

PLUGIT = Path(sys.executable).with_name("plugit")


def run_plugit(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `plugit args...` (the script installed beside this interpreter)."""
    return subprocess.run(
        [str(PLUGIT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},  # one line per option in --help
        check=False,
    )


def subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every subcommand under `parser` (groups and their actions), by its words."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if getattr(child, "missing_extra", None) is None:  # installed here
                    yield (*path, name), child
                    yield from subcommands(child, (*path, name))


def every_subcommand() -> list[tuple[str, ...]]:
    """The words of every installed subcommand of `plugit`, e.g. ("mail", "poll")."""
    return [words for words, _ in subcommands(build_parser())]


def parser_of(words: tuple[str, ...]) -> argparse.ArgumentParser:
    """The parser of the subcommand `plugit words...`."""
    return dict(subcommands(build_parser()))[words]
