"""Every subcommand explains itself (`--help`) and owns its mistakes (a mistyped option)."""

from __future__ import annotations

import argparse
from importlib import metadata

import pytest

from plugit.cli.extras import add_missing_commands
from plugit.cli.parser import CommandParser

from .commands import every_subcommand, parser_of, run_plugit

SUBCOMMANDS = every_subcommand()


def test_the_walk_finds_the_commands() -> None:
    words = {" ".join(command) for command in SUBCOMMANDS}
    assert {"serve", "new", "proxy", "platform serve", "mail poll", "demo"} <= words


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_help_describes_every_option_and_shows_defaults(words: tuple[str, ...]) -> None:
    parser = parser_of(words)
    assert (parser.description or "").strip(), f"`plugit {' '.join(words)}` has no description"
    result = run_plugit(*words, "--help")
    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())
    assert shown.startswith(f"usage: plugit {' '.join(words)}")
    assert " ".join(parser.description.split()) in shown
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert (action.help or "").strip(), f"`plugit {' '.join(words)}` {name} has no help"
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert "default" in action.help or "(default: " in shown, name
            assert str(action.default) in shown, f"{name}: its default is not in --help"


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_a_mistyped_option_shows_the_subcommands_usage(words: tuple[str, ...]) -> None:
    result = run_plugit(*words, "--prot", "5")
    command = f"plugit {' '.join(words)}"
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: {command} "), result.stderr
    assert f"\n{command}: error: " in result.stderr
    assert "Traceback" not in result.stderr


def test_the_error_names_the_mistyped_option() -> None:
    result = run_plugit("proxy", "--prot", "5")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: plugit proxy [-h] [--service SERVICE]")
    assert result.stderr.endswith("plugit proxy: error: unrecognized arguments: --prot 5\n")
    result = run_plugit("serve", "service:service", "--prot", "5")
    assert result.stderr.endswith("plugit serve: error: unrecognized arguments: --prot 5\n")


def test_serve_shows_its_defaults() -> None:
    lines = run_plugit("serve", "--help").stdout.splitlines()
    assert any(line.lstrip().startswith("--port PORT") and "5000" in line for line in lines)
    assert any(line.lstrip().startswith("--host HOST") and "127.0.0.1" in line for line in lines)


def test_version_names_the_distribution() -> None:
    result = run_plugit("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"plugit3 {metadata.version('plugit3')}\n"
    assert "--version" in run_plugit("--help").stdout


def test_a_command_whose_extra_is_missing_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = CommandParser(prog="plugit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="serve")
    add_missing_commands(commands)
    for argv, extra in [
        (["proxy", "--service", "http://127.0.0.1:5000"], "proxy"),
        (["platform", "--help"], "proxy"),
        (["demo"], "proxy,examples"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"plugit {argv[0]}: this command needs the ")
        assert err.endswith(f"not installed: pip install 'plugit3[{extra}]'\n")
    help_text = parser.format_help()
    assert "serve" in help_text
    assert "proxy" not in help_text
    assert "demo" not in help_text
