"""The page layout of a platform project: from the platform file to the pipeline's config."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from plugit_proxy.platform.apply import apply_file
from plugit_proxy.platform.models import Project
from plugit_proxy.platform.projects import project_config

FILE = """
[[projects]]
slug = "{slug}"
name = "Original service"
services = ["http://original:5000"]
layout = "{layout}"
"""


def apply(tmp_path: Path, layout: str, slug: str = "original") -> tuple[int, str]:
    path = tmp_path / "platform.toml"
    path.write_text(textwrap.dedent(FILE.format(slug=slug, layout=layout)))
    out, err = io.StringIO(), io.StringIO()
    code = apply_file(path, environ={}, stdout=out, stderr=err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("layout", "served", "menu"),
    [("legacy", "legacy", "menubar"), ("menu", "modern", "menubar"), ("plain", "modern", None)],
)
def test_the_file_chooses_the_layout(
    db: None, tmp_path: Path, layout: str, served: str, menu: str | None
) -> None:
    code, err = apply(tmp_path, layout)
    assert (code, err) == (0, "")
    row = Project.objects.get(slug="original")
    assert row.layout == layout
    config = project_config(row)
    assert config is not None
    assert (config.layout, config.menu_action) == (served, menu)


def test_a_changed_layout_is_applied(db: None, tmp_path: Path) -> None:
    apply(tmp_path, "menu")
    apply(tmp_path, "legacy")
    assert Project.objects.get(slug="original").layout == "legacy"


def test_an_unknown_layout_is_named(db: None, tmp_path: Path) -> None:
    code, err = apply(tmp_path, "bootstrap3")
    assert code != 0
    assert "'bootstrap3' is not one of menu, plain, legacy" in err
    assert not Project.objects.filter(slug="original").exists()
