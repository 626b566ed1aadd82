"""The parser class of every `plugit` command and subcommand.

Three things the standard `argparse.ArgumentParser` does not do by itself:

* `--help` shows each option's default (unless its help already says it, or it has none);
* a mistyped option is the subcommand's own error, with its own usage line (argparse would
  hand it up to `plugit`, whose usage says nothing about the subcommand's options);
* a command whose optional part is not installed says, in one line, what to install.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import metadata
from typing import Any, NoReturn

__all__ = ["DISTRIBUTION", "CommandParser", "DefaultsFormatter", "version_line"]

# The name PlugIt for Python 3 is published under ("plugit" on PyPI is the original, 2018).
DISTRIBUTION = "plugit3"


class DefaultsFormatter(argparse.HelpFormatter):
    """Add "(default: ...)" to an option's help when it has a default its help does not say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text  # the help says it already, e.g. "8000 by default"
            or default is None
            or default is False
            or default is argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser that shows defaults and owns its errors (see the module's doc).

    `missing_extra`, when given, names the extra that the command needs and that is not
    installed (e.g. "proxy"): parsing anything then ends with one line saying what to install.
    """

    def __init__(self, *args: Any, missing_extra: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)
        self.missing_extra = missing_extra

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse `args`; an argument this parser does not know is its own error."""
        if self.missing_extra is not None:
            self.needs_extra(self.missing_extra)
        parsed, unknown = super().parse_known_args(args, namespace)
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        return parsed, unknown

    def needs_extra(self, extra: str) -> NoReturn:
        """Exit with one line: this command needs `pip install 'plugit3[extra]'`."""
        what = f"extras [{extra}], which are" if "," in extra else f"extra [{extra}], which is"
        self.exit(
            2,
            f"{self.prog}: this command needs the {what} not installed: "
            f"pip install '{DISTRIBUTION}[{extra}]'\n",
        )


def version_line() -> str:
    """`plugit3 2.0.0`: the installed distribution and its version."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from plugit import __version__ as version
    return f"{DISTRIBUTION} {version}"
