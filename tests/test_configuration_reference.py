"""docs/configuration.md lists every variable the code reads, and only those.

What the code reads is found in the source, not in a list kept by hand:

* every string constant of `src/` (messages and docstrings included: a name shown to users must
  be documented) that names a `PLUGIT_*` or `PIAPI_*` variable;
* the service settings the SDK builds from its field names (`plugit.settings`);
* the variables the test suite and `scripts/test` read, for the contributors' section.

A documented variable is the first cell of a table row, in backticks.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

from plugit.settings import CONFIG_NAMES, Settings

SDK_PREFIX = "PLUGIT_"  # a service setting `field` is read from PLUGIT_<FIELD>
ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
# A whole name: not a prefix such as "PLUGIT_MAIL_{command}_ONCE" or "PLUGIT_CSRF_TOKEN__".
NAME = re.compile(r"\b(?:PLUGIT|PIAPI)_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_{])")
ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)
CONTRIBUTORS = "## For contributors"
SDK_SECTION = "## A service's settings"
# Names of that form that are no environment variable.
NOT_VARIABLES = {
    "PLUGIT_CONFIGURATION": "the Django setting that holds the proxy's configuration object",
    "PLUGIT_FAST_RENDER": "a Django setting (the benchmarks turn the fast renderer off)",
}
# What the test suite and scripts/test read besides the PLUGIT_TEST_* names found below.
SUITE_VARIABLES = {"CI", "PLUGIT_VENV", "PYTHON"}


def string_constants(paths: Iterable[Path]) -> Iterable[str]:
    """Every string constant in these Python files."""
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value


def names_in(texts: Iterable[str]) -> set[str]:
    return {name for text in texts for name in NAME.findall(text)}


def read_by_the_code() -> set[str]:
    """The variables `src/` reads or names, and the SDK's service settings."""
    found = names_in(string_constants(sorted((ROOT / "src").rglob("*.py"))))
    sdk = {SDK_PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
    return (found | sdk) - set(NOT_VARIABLES)


def read_by_the_suite() -> set[str]:
    """The variables the tests (and scripts/test) read for themselves: PLUGIT_TEST_*."""
    texts = list(string_constants(sorted((ROOT / "tests").rglob("*.py"))))
    texts.append((ROOT / "scripts" / "test").read_text(encoding="utf-8"))
    return {name for name in names_in(texts) if name.startswith("PLUGIT_TEST_")}


def documented(text: str) -> set[str]:
    return set(ROW.findall(text))


def sections() -> tuple[str, str, str]:
    """The page before the SDK's section, the SDK's section, the contributors' section."""
    text = PAGE.read_text(encoding="utf-8")
    proxy, _, rest = text.partition(SDK_SECTION)
    sdk, _, contributors = rest.partition(CONTRIBUTORS)
    assert sdk, f"{PAGE.name} lost its section {SDK_SECTION!r}"
    assert contributors, f"{PAGE.name} lost its section {CONTRIBUTORS!r}"
    return proxy, sdk, contributors


def test_the_sdk_reads_its_settings_under_that_prefix() -> None:
    environ = {SDK_PREFIX + "MEDIA_MAX_AGE": "7", SDK_PREFIX + "PORT": "5001"}
    settings = Settings.load(environ=environ)
    assert (settings.media_max_age, settings.port) == (7, 5001)


def test_the_scan_finds_names_and_skips_prefixes() -> None:
    text = 'f"PLUGIT_MAIL_{command}_ONCE", "PLUGIT_CSRF_TOKEN__", "set PLUGIT_PORT=8000; PIAPI_X"'
    assert names_in([text]) == {"PLUGIT_PORT", "PIAPI_X"}
    assert documented("| `PLUGIT_A` | x |\n| x | `PLUGIT_B` |\n") == {"PLUGIT_A"}


def test_every_variable_the_code_reads_is_documented() -> None:
    proxy, sdk, _ = sections()
    listed = documented(proxy) | documented(sdk)
    # The original PlugIt's aliases are named beside the variable they stand for.
    aliases = {name for name in read_by_the_code() if name.startswith("PIAPI_")}
    missing = sorted(read_by_the_code() - listed - aliases)
    assert missing == [], f"read by src/ but not in docs/configuration.md: {missing}"
    unnamed = sorted(alias for alias in aliases if f"`{alias}`" not in proxy)
    assert unnamed == [], f"aliases not named in docs/configuration.md: {unnamed}"


def test_every_documented_variable_is_read_by_the_code() -> None:
    proxy, sdk, _ = sections()
    stale = sorted((documented(proxy) | documented(sdk)) - read_by_the_code())
    assert stale == [], f"in docs/configuration.md but no longer read by src/: {stale}"


def test_the_sdk_section_lists_each_service_setting_with_its_config_name() -> None:
    _, sdk, _ = sections()
    for config_name, field in CONFIG_NAMES.items():
        row = f"| `{SDK_PREFIX}{field.upper()}` | `{config_name}` |"
        assert row in sdk, f"the SDK's section has no row {row!r}"


def test_the_contributors_section_lists_what_the_suite_reads_and_nothing_else() -> None:
    _, _, contributors = sections()
    assert documented(contributors) == read_by_the_suite() | SUITE_VARIABLES
    scripts = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for name in ("PLUGIT_VENV", "PYTHON"):
        assert f"${{{name}:-" in scripts, f"scripts/test no longer reads {name}"
