"""docs/protocol.md documents every wire name of `plugit.protocol`, under numbered sections.

Adding a path, header, parameter or meta key to the protocol module without describing it in
the shipped reference fails here.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from plugit import protocol

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def _strings(value: object) -> Iterator[str]:
    """Every string a constant holds: itself, its items, or its keys and values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _strings(item)


def wire_names() -> dict[str, str]:
    """Map each wire name of the protocol module to where it comes from."""
    names: dict[str, str] = {}
    for attribute, value in vars(protocol).items():
        if attribute.startswith("_") or isinstance(value, types.ModuleType) or callable(value):
            continue
        for text in _strings(value):
            names.setdefault(text, attribute)
    for key in (*protocol.Meta.__required_keys__, *protocol.Meta.__optional_keys__):
        names.setdefault(key, "Meta")
    for rule in typing.get_args(protocol.AccessRule):
        names.setdefault(rule, "AccessRule")
    for field in protocol.DEFAULT_USER_FIELDS:  # the proxy-mode header of each user field
        names.setdefault(protocol.user_field_header(field), "user_field_header")
    return names


def code_spans(text: str) -> list[str]:
    """The inline code spans of a Markdown text, and the lines of its code blocks."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return inline + [line for block in blocks for line in block.splitlines()]


def written_as_code(name: str, spans: list[str]) -> bool:
    """Tell whether `name` is written, whole and in its exact case, inside some code span."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(name)}(?![A-Za-z0-9_-])")
    shown_whole = any(pattern.search(span) for span in spans)
    # A prefix such as `X-Plugitsession-` is shown followed by a placeholder: `...-<key>`.
    return shown_whole or any(span.startswith(name) for span in spans if name.endswith("-"))


@pytest.fixture(scope="module")
def spans() -> list[str]:
    return code_spans(DOC.read_text(encoding="utf-8"))


def test_the_module_has_wire_names_to_check() -> None:
    names = wire_names()
    assert "EbuIo-PlugIt-Redirect" in names
    assert "X-Plugit-User-First-Name" in names
    assert "cache_by_user" in names
    assert "ping" in names


@pytest.mark.parametrize(("name", "source"), sorted(wire_names().items()))
def test_every_wire_name_is_documented(name: str, source: str, spans: list[str]) -> None:
    assert written_as_code(name, spans), (
        f"plugit.protocol.{source} holds {name!r}, which docs/protocol.md never writes as "
        f"code; describe it there"
    )


def test_a_name_missing_from_the_doc_is_caught(spans: list[str]) -> None:
    assert not written_as_code("X-Plugit-Not-A-Header", spans)
    assert not written_as_code("ebuio_u", ["ebuio_u_<name>"])  # a longer name is not it
    assert not written_as_code("x-plugit-remote-addr", spans)  # the case counts


def test_every_pass_through_status_is_documented() -> None:
    words = set(re.findall(r"\b\d{3}\b", DOC.read_text(encoding="utf-8")))
    assert {str(status) for status in protocol.PASS_THROUGH_STATUSES} <= words


def test_sections_one_to_seven_can_be_cited() -> None:
    headings = re.findall(r"^## (§\d+) ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert headings == [f"§{number}" for number in range(1, 8)]
