"""`platform.toml`'s versions, routes and shadow: checked whole, applied exactly, read back."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from plugit_proxy.platform.apply import apply_file
from plugit_proxy.platform.models import Project
from plugit_proxy.platform.projects import project_config

PROJECT = """
[[projects]]
slug = "quiz"
name = "Quiz"
services = ["http://prod:8000"]
"""


def apply(tmp_path: Path, extra: str) -> tuple[int, str]:
    path = tmp_path / "platform.toml"
    path.write_text(textwrap.dedent(PROJECT) + textwrap.dedent(extra))
    out, err = io.StringIO(), io.StringIO()
    code = apply_file(path, environ={}, stdout=out, stderr=err)
    return code, err.getvalue()


def test_versions_and_routes_land_and_are_served(tmp_path: Path, db: None) -> None:
    code, err = apply(
        tmp_path,
        """
        versions = { dev = ["http://dev:8000", "http://dev2:8000"], next = ["http://next:8000"] }
        routes = ["dev=users:alice", "production=admins", "dev=percent:25"]
        shadow = ["next"]
        """,
    )
    assert code == 0, err
    config = project_config(Project.objects.get(slug="quiz"))
    assert config is not None
    assert config.service_urls == ("http://prod:8000/",)
    assert [(v.name, v.service_urls, v.shadow) for v in config.versions] == [
        ("dev", ("http://dev:8000/", "http://dev2:8000/"), False),
        ("next", ("http://next:8000/",), True),
    ]
    assert [(r.version, r.kind, r.values) for r in config.rules] == [
        ("dev", "users", ("alice",)),
        ("production", "admins", ()),
        ("dev", "percent", ("25",)),
    ]
    # Applied again without them: the versions and routes the file no longer names go.
    assert apply(tmp_path, "versions = {}\nroutes = []\n")[0] == 0
    config = project_config(Project.objects.get(slug="quiz"))
    assert config is not None
    assert (config.versions, config.rules, config.service_urls) == ((), (), ("http://prod:8000/",))


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('routes = ["dev=users:alice"]', "routes[0]: the version 'dev' has no instances here"),
        ('routes = ["dev=user:alice"]', "'user:alice' is not a rule: use users:NAME,NAME"),
        ('routes = ["dev"]', "'dev' is not NAME=RULE"),
        (
            'versions = { next = ["http://n:1"] }\nshadow = ["next"]\nroutes = ["next=admins"]',
            "the version 'next' is a shadow version",
        ),
        ('versions = { dev = ["http://prod:8000"] }', "is already an instance of another version"),
        ('versions = { production = ["http://x:1"] }', "'production' is the project's own version"),
        ('shadow = ["nope"]', "no version 'nope' in this project's versions"),
    ],
)
def test_a_wrong_entry_is_named_and_nothing_applied(
    tmp_path: Path, db: None, extra: str, problem: str
) -> None:
    code, err = apply(tmp_path, extra)
    assert code == 2
    assert problem in err
    assert 'projects[slug="quiz"]' in err
    assert not Project.objects.filter(slug="quiz").exists()
