"""`plugit platform apply`: in process on SQLite, and as a command on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password

from plugit_proxy.platform.apply import apply_file
from plugit_proxy.platform.keys import key_matches
from plugit_proxy.platform.models import (
    Organisation,
    OrganisationMembership,
    Project,
    ProjectMembership,
    ProjectService,
    Subscription,
    User,
)

KEY_LINE = re.compile(r"^API key for project '([-\w]+)': (\S+) \(shown once\)$", re.MULTILINE)
POLLS_KEY = "polls-key-" + "p" * 30
ENV = {"PW_ALICE": "alice-Pa55word!", "PW_ROOT": "root-Pa55word!", "KEY_POLLS": POLLS_KEY}

FULL = """
[[organisations]]
codops = "chrts"
name = "RTS"

[[organisations]]
codops = "gbbbc"
name = "BBC"

[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[users]]
username = "alice"
email = "alice@example.org"
first_name = "Alice"
last_name = "Liddell"
password_env = "PW_ALICE"
organisations = { chrts = "admin", gbbbc = "member" }

[[users]]
username = "bob"
email = "bob@example.org"
staff = true
active = true
organisations = { gbbbc = "member" }

[[projects]]
slug = "polls"
name = "Polls"
services = ["http://polls-1:8000", "http://polls-2:8000/"]
orga_mode = true
proxy_mode = false
menu_action = "menu"
layout = "plain"
visibility = "members"
requires_https = true
allowed_organisations = ["chrts"]
user_fields = ["username", "email", "subscription_labels"]
api_key_env = "KEY_POLLS"
members = { alice = "admin", bob = "member" }
subscriptions.alice = [
    "gold",
    { label = "beta", valid_from = 2025-01-01, valid_until = 2030-06-30T12:00:00+02:00 },
]
subscriptions.bob = ["pro"]

[[projects]]
slug = "quiz"
name = "Quiz"
services = ["https://quiz.example.org/base"]
"""


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def keys(self) -> dict[str, str]:
        return dict(KEY_LINE.findall(self.out))


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """`run(text, **env)`: apply `text` as platform.toml in process; what it said."""

    def apply(text: str, environ: dict[str, str] | None = None) -> Run:
        path = tmp_path / "platform.toml"
        path.write_text(textwrap.dedent(text))
        out, err = io.StringIO(), io.StringIO()
        code = apply_file(path, environ=ENV if environ is None else environ, stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return apply


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Everything apply can write, in a comparable form."""
    return {
        "orgas": list(Organisation.objects.values_list("codops", "name")),
        "users": list(
            User.objects.order_by("username").values_list(
                "username", "email", "password", "is_staff", "is_superuser", "is_active"
            )
        ),
        "orga_members": list(
            OrganisationMembership.objects.order_by("pk").values_list(
                "user__username", "organisation__codops", "role"
            )
        ),
        "projects": list(
            Project.objects.order_by("slug").values_list(
                "slug", "name", "api_key_hash", "layout", "user_fields", "updated"
            )
        ),
        "services": list(ProjectService.objects.values_list("project__slug", "url", "position")),
        "members": list(
            ProjectMembership.objects.order_by("pk").values_list(
                "project__slug", "user__username", "role"
            )
        ),
        "subscriptions": list(
            Subscription.objects.order_by("pk").values_list(
                "project__slug", "user__username", "label", "valid_from", "valid_until"
            )
        ),
    }


pytestmark = pytest.mark.usefixtures("db")


# -- a whole file ----------------------------------------------------------------------------


def test_every_field_of_the_file_lands_in_the_database(run: Any) -> None:
    done = run(FULL)
    assert done.code == 0, done.err
    assert done.err == ""
    assert dict(Organisation.objects.values_list("codops", "name")) == {
        "chrts": "RTS",
        "gbbbc": "BBC",
    }
    root = User.objects.get(username="root")
    assert (root.email, root.is_staff, root.is_superuser) == ("root@example.org", True, True)
    alice = User.objects.get(username="alice")
    assert (alice.first_name, alice.last_name, alice.is_staff) == ("Alice", "Liddell", False)
    bob = User.objects.get(username="bob")
    assert (bob.is_staff, bob.is_superuser, bob.is_active) == (True, False, True)
    assert set(
        OrganisationMembership.objects.values_list("user__username", "organisation__codops", "role")
    ) == {("alice", "chrts", "admin"), ("alice", "gbbbc", "member"), ("bob", "gbbbc", "member")}

    polls = Project.objects.get(slug="polls")
    assert polls.name == "Polls"
    assert (polls.orga_mode, polls.proxy_mode, polls.requires_https) == (True, False, True)
    assert (polls.menu_action, polls.layout, polls.visibility) == ("menu", "plain", "members")
    assert polls.user_fields == ["username", "email", "subscription_labels"]
    assert polls.service_urls == ["http://polls-1:8000/", "http://polls-2:8000/"]
    assert [o.codops for o in polls.allowed_organisations.all()] == ["chrts"]
    assert set(
        ProjectMembership.objects.values_list("user__username", "project__slug", "role")
    ) == {
        ("alice", "polls", "admin"),
        ("bob", "polls", "member"),
    }
    subscriptions = {
        (s.user.username, s.label): (s.valid_from, s.valid_until)
        for s in Subscription.objects.filter(project=polls)
    }
    assert subscriptions == {
        ("alice", "gold"): (None, None),
        ("alice", "beta"): (
            dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2030, 6, 30, 10, tzinfo=dt.UTC),
        ),
        ("bob", "pro"): (None, None),
    }
    assert key_matches(POLLS_KEY, polls.api_key_hash)

    quiz = Project.objects.get(slug="quiz")
    assert quiz.service_urls == ["https://quiz.example.org/base/"]
    assert (quiz.orga_mode, quiz.layout, quiz.menu_action) == (False, "menu", "menubar")
    assert list(quiz.allowed_organisations.all()) == []


def test_a_generated_key_is_printed_once_and_only_its_hash_is_kept(run: Any) -> None:
    first = run(FULL)
    assert list(first.keys) == ["quiz"]  # polls' key comes from $KEY_POLLS: not printed
    assert POLLS_KEY not in first.out
    key = first.keys["quiz"]
    stored = Project.objects.get(slug="quiz").api_key_hash
    assert key_matches(key, stored)
    assert key not in stored

    second = run(FULL)
    assert second.keys == {}
    assert "API key" not in second.out
    assert Project.objects.get(slug="quiz").api_key_hash == stored


def test_the_summary_counts_and_a_second_run_changes_nothing(run: Any) -> None:
    first = run(FULL)
    assert "organisations: 2 created, 0 updated, 0 unchanged" in first.out
    assert "users: 3 created, 0 updated, 0 unchanged" in first.out
    assert "projects: 2 created, 0 updated, 0 unchanged" in first.out
    assert first.out.rstrip().endswith("platform.toml: applied")
    before = snapshot()

    second = run(FULL)
    assert second.code == 0
    assert "organisations: 0 created, 0 updated, 2 unchanged" in second.out
    assert "users: 0 created, 0 updated, 3 unchanged" in second.out
    assert "projects: 0 created, 0 updated, 2 unchanged" in second.out
    assert second.out.rstrip().endswith("platform.toml: unchanged")
    assert snapshot() == before


def test_the_example_file_applies_and_reapplies(run: Any) -> None:
    example = Path(__file__).parents[2] / "examples" / "platform.toml"
    secrets = {"ADMIN_PASSWORD": "a", "ALICE_PASSWORD": "b", "POLLS_API_KEY": POLLS_KEY}
    first = run(example.read_text(), secrets)
    assert first.code == 0, first.err
    assert list(first.keys) == ["quiz"]
    assert Subscription.objects.count() == 3
    second = run(example.read_text(), secrets)
    assert (second.code, second.keys) == (0, {})
    assert second.out.rstrip().endswith("unchanged")


def test_an_empty_file_and_empty_tables_are_fine(run: Any) -> None:
    assert run("").code == 0
    done = run(
        """
        organisations = []
        [[users]]
        username = "bob"
        email = "bob@example.org"
        organisations = {}
        [[projects]]
        slug = "quiz"
        name = "Quiz"
        services = ["http://quiz"]
        user_fields = []
        allowed_organisations = []
        members = {}
        subscriptions = {}
        """
    )
    assert done.code == 0, done.err
    assert Project.objects.get(slug="quiz").user_fields == []


# -- users -----------------------------------------------------------------------------------


def test_users_with_a_password_can_log_in_at_once(run: Any) -> None:
    run(FULL)
    alice = User.objects.get(username="alice")
    assert alice.check_password(ENV["PW_ALICE"])
    assert authenticate(username="alice", password=ENV["PW_ALICE"]) == alice
    if apps.is_installed("allauth.account"):
        address = apps.get_model("account", "EmailAddress").objects.get(user=alice)
        assert (address.email, address.verified, address.primary) == (
            "alice@example.org",
            True,
            True,
        )


def test_a_user_without_password_env_has_no_usable_password(run: Any) -> None:
    run(FULL)
    bob = User.objects.get(username="bob")
    assert not bob.has_usable_password()
    assert authenticate(username="bob", password="") is None


def test_an_existing_password_is_kept_when_the_file_names_none(run: Any) -> None:
    run(FULL)
    bob = User.objects.get(username="bob")
    bob.set_password("chosen-by-bob")
    bob.save()
    assert run(FULL).code == 0
    assert User.objects.get(username="bob").check_password("chosen-by-bob")


def test_a_changed_password_variable_changes_the_password(run: Any) -> None:
    run(FULL)
    done = run(FULL, {**ENV, "PW_ALICE": "a-new-Pa55word"})
    assert "users: 0 created, 1 updated, 2 unchanged" in done.out
    alice = User.objects.get(username="alice")
    assert alice.check_password("a-new-Pa55word")
    assert not check_password(ENV["PW_ALICE"], alice.password)


def test_superuser_false_takes_staff_away_too(run: Any) -> None:
    run(FULL)
    run(FULL.replace("superuser = true", "superuser = false"))
    root = User.objects.get(username="root")
    assert (root.is_staff, root.is_superuser) == (False, False)


def test_a_changed_email_becomes_the_verified_primary_address(run: Any) -> None:
    run(FULL)
    run(FULL.replace("alice@example.org", "alice@new.example.org"))
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@new.example.org"
    if apps.is_installed("allauth.account"):
        addresses = apps.get_model("account", "EmailAddress").objects.filter(user=alice)
        primary = {a.email: a.primary for a in addresses}
        assert primary == {"alice@example.org": False, "alice@new.example.org": True}


# -- declarative memberships -----------------------------------------------------------------


def test_memberships_the_file_gives_are_made_to_match_exactly(run: Any) -> None:
    run(FULL)
    changed = (
        FULL.replace('organisations = { chrts = "admin", gbbbc = "member" }', "organisations = {}")
        .replace('members = { alice = "admin", bob = "member" }', 'members = { bob = "admin" }')
        .replace('bob = ["pro"]', 'bob = ["pro", "extra"]')
        .replace('    "gold",\n', "")
        .replace('allowed_organisations = ["chrts"]', 'allowed_organisations = ["gbbbc"]')
        .replace('"http://polls-1:8000", "http://polls-2:8000/"', '"http://polls-3:8000"')
    )
    done = run(changed)
    assert done.code == 0, done.err
    assert "users: 0 created, 1 updated, 2 unchanged" in done.out
    assert "projects: 0 created, 1 updated, 1 unchanged" in done.out
    assert not OrganisationMembership.objects.filter(user__username="alice").exists()
    assert list(ProjectMembership.objects.values_list("user__username", "role")) == [
        ("bob", "admin")
    ]
    labels = Subscription.objects.values_list("user__username", "label")
    assert sorted(labels) == [("alice", "beta"), ("bob", "extra"), ("bob", "pro")]
    polls = Project.objects.get(slug="polls")
    assert [o.codops for o in polls.allowed_organisations.all()] == ["gbbbc"]
    assert polls.service_urls == ["http://polls-3:8000/"]


def test_what_the_file_leaves_out_is_left_alone(run: Any) -> None:
    run(FULL)
    carol = User.objects.create_user("carol", "carol@example.org")
    quiz = Project.objects.get(slug="quiz")
    ProjectMembership.objects.create(user=carol, project=quiz)  # quiz names no members
    Subscription.objects.create(user=carol, project=quiz, label="pro")
    bob = User.objects.get(username="bob")
    rts = Organisation.objects.get(codops="chrts")
    other = Organisation.objects.create(codops="dezdf", name="ZDF")
    OrganisationMembership.objects.create(user=carol, organisation=rts)
    Project.objects.filter(slug="quiz").update(layout="plain", requires_https=True)

    without_keys = FULL.replace("staff = true\nactive = true\n", "").replace(
        'organisations = { gbbbc = "member" }\n', ""
    )
    OrganisationMembership.objects.create(user=bob, organisation=other)
    done = run(without_keys)
    assert done.code == 0, done.err
    assert User.objects.get(username="carol").email == "carol@example.org"
    assert ProjectMembership.objects.filter(user=carol, project=quiz).exists()
    assert Subscription.objects.filter(user=carol, project=quiz).exists()
    assert OrganisationMembership.objects.filter(user=carol, organisation=rts).exists()
    assert set(
        OrganisationMembership.objects.filter(user=bob).values_list("organisation__codops")
    ) == {("gbbbc",), ("dezdf",)}
    assert User.objects.get(username="bob").is_staff
    quiz.refresh_from_db()
    assert (quiz.layout, quiz.requires_https) == ("plain", True)
    assert Organisation.objects.filter(codops="dezdf").exists()


def test_subscription_dates_follow_the_file(run: Any) -> None:
    run(FULL)
    run(FULL.replace("valid_from = 2025-01-01, ", ""))
    beta = Subscription.objects.get(label="beta")
    assert beta.valid_from is None
    assert beta.valid_until == dt.datetime(2030, 6, 30, 10, tzinfo=dt.UTC)


def test_a_local_date_time_is_read_in_the_platform_time_zone(run: Any) -> None:
    run(FULL.replace("2030-06-30T12:00:00+02:00", "2030-06-30T12:00:00"))
    assert Subscription.objects.get(label="beta").valid_until == dt.datetime(
        2030, 6, 30, 12, tzinfo=dt.UTC
    )


# -- services and keys -----------------------------------------------------------------------


def test_a_trailing_slash_makes_no_difference(run: Any) -> None:
    run(FULL)
    swapped = FULL.replace(
        '"http://polls-1:8000", "http://polls-2:8000/"',
        '"http://polls-1:8000/", "http://polls-2:8000"',
    )
    assert "projects: 0 created, 0 updated, 2 unchanged" in run(swapped).out


def test_service_order_is_kept(run: Any) -> None:
    run(FULL)
    swapped = FULL.replace(
        '"http://polls-1:8000", "http://polls-2:8000/"',
        '"http://polls-2:8000", "http://polls-1:8000"',
    )
    assert "projects: 0 created, 1 updated, 1 unchanged" in run(swapped).out
    assert Project.objects.get(slug="polls").service_urls == [
        "http://polls-2:8000/",
        "http://polls-1:8000/",
    ]


def test_api_key_env_replaces_the_key_and_dropping_it_keeps_the_key(run: Any) -> None:
    run(FULL)
    new_key = "another-polls-key-" + "q" * 20
    done = run(FULL, {**ENV, "KEY_POLLS": new_key})
    assert done.keys == {}
    assert "projects: 0 created, 1 updated, 1 unchanged" in done.out
    assert key_matches(new_key, Project.objects.get(slug="polls").api_key_hash)

    dropped = run(FULL.replace('api_key_env = "KEY_POLLS"\n', ""))
    assert dropped.keys == {}
    assert "projects: 0 created, 0 updated, 2 unchanged" in dropped.out
    assert key_matches(new_key, Project.objects.get(slug="polls").api_key_hash)


def test_api_key_env_takes_over_a_generated_key(run: Any) -> None:
    generated = run(FULL).keys["quiz"]
    quiz_key = "quiz-key-" + "z" * 30
    with_env = FULL.replace(
        'services = ["https://quiz.example.org/base"]',
        'services = ["https://quiz.example.org/base"]\napi_key_env = "KEY_QUIZ"',
    )
    run(with_env, {**ENV, "KEY_QUIZ": quiz_key})
    stored = Project.objects.get(slug="quiz").api_key_hash
    assert key_matches(quiz_key, stored)
    assert not key_matches(generated, stored)


# -- errors ----------------------------------------------------------------------------------


def bad(old: str, new: str) -> str:
    assert old in FULL, old
    return FULL.replace(old, new, 1)


BAD_FILES = [
    pytest.param(
        bad('codops = "chrts"\nname = "RTS"', 'codops = "chrts"\nnmae = "RTS"'),
        [
            "platform.toml: organisations[codops=\"chrts\"]: unknown key 'nmae' (known: ",
            'platform.toml: organisations[codops="chrts"]: name is missing',
        ],
        id="unknown-key-and-missing-key",
    ),
    pytest.param(
        "colour = 'blue'\n" + FULL,
        ["platform.toml: the file: unknown key 'colour'"],
        id="unknown-top-level-key",
    ),
    pytest.param(
        "[organisations]\ncodops = 'x'\n",
        ["platform.toml: organisations: must be an array of tables ([[organisations]])"],
        id="table-instead-of-array",
    ),
    pytest.param(
        bad('username = "bob"\nemail = "bob@example.org"', 'username = "bob"\nmail = "b@x.org"'),
        [
            "platform.toml: users[username=\"bob\"]: unknown key 'mail'",
            'platform.toml: users[username="bob"]: email is missing',
        ],
        id="user-typo",
    ),
    pytest.param(
        bad('slug = "quiz"', 'slug = "quiz"\norga_mod = true'),
        ["platform.toml: projects[slug=\"quiz\"]: unknown key 'orga_mod'"],
        id="project-typo",
    ),
    pytest.param(
        bad('label = "beta"', 'lable = "beta"'),
        [
            "platform.toml: projects[slug=\"polls\"].subscriptions.alice[1]: unknown key 'lable'",
            'platform.toml: projects[slug="polls"].subscriptions.alice[1]: label is missing',
        ],
        id="subscription-typo",
    ),
    pytest.param(
        bad('"http://polls-2:8000/"', '"ftp://x"'),
        ["platform.toml: projects[slug=\"polls\"].services[1]: 'ftp://x' is not an http(s) URL"],
        id="ftp-url",
    ),
    pytest.param(
        bad('"http://polls-2:8000/"', '"http://polls-1:8000/"'),
        [
            'platform.toml: projects[slug="polls"].services[1]: '
            "'http://polls-1:8000/' is listed twice"
        ],
        id="same-url-twice",
    ),
    pytest.param(
        bad('services = ["https://quiz.example.org/base"]', "services = []"),
        ['platform.toml: projects[slug="quiz"].services: must be a non-empty array of URLs'],
        id="no-services",
    ),
    pytest.param(
        bad('services = ["https://quiz.example.org/base"]', ""),
        ['platform.toml: projects[slug="quiz"]: services is missing'],
        id="services-missing",
    ),
    pytest.param(
        bad('slug = "quiz"', 'slug = "quiz!"'),
        ['platform.toml: projects[slug="quiz!"].slug: may hold only letters, digits, - and _'],
        id="bad-slug",
    ),
    pytest.param(
        bad('slug = "quiz"\n', ""),
        ["platform.toml: projects[1]: slug is missing"],
        id="slug-missing",
    ),
    pytest.param(
        bad('slug = "quiz"', 'slug = "polls"'),
        ["platform.toml: projects[slug=\"polls\"]: the slug 'polls' is used twice"],
        id="duplicate-slug",
    ),
    pytest.param(
        bad('codops = "gbbbc"', 'codops = "chrts"'),
        ["platform.toml: organisations[codops=\"chrts\"]: the codops 'chrts' is used twice"],
        id="duplicate-codops",
    ),
    pytest.param(
        bad('username = "bob"', 'username = "alice"'),
        ["platform.toml: users[username=\"alice\"]: the username 'alice' is used twice"],
        id="duplicate-username",
    ),
    pytest.param(
        bad("bob@example.org", "ALICE@example.org"),
        [
            'platform.toml: users[username="bob"].email: '
            "'ALICE@example.org' is already the address of user 'alice'"
        ],
        id="duplicate-email",
    ),
    pytest.param(
        bad('username = "bob"', 'username = "bob smith"'),
        ['platform.toml: users[username="bob smith"].username: may hold only letters'],
        id="bad-username",
    ),
    pytest.param(
        bad('email = "bob@example.org"', 'email = "bob"'),
        ["platform.toml: users[username=\"bob\"].email: 'bob' is not an e-mail address"],
        id="bad-email",
    ),
    pytest.param(
        bad("superuser = true", 'superuser = "yes"'),
        ["platform.toml: users[username=\"root\"].superuser: must be true or false, not 'yes'"],
        id="flag-not-a-bool",
    ),
    pytest.param(
        bad("superuser = true", "superuser = true\nstaff = false"),
        ['platform.toml: users[username="root"].staff: a superuser is always staff'],
        id="superuser-not-staff",
    ),
    pytest.param(
        bad('first_name = "Alice"', "first_name = 42"),
        ['platform.toml: users[username="alice"].first_name: must be a string, not int'],
        id="name-not-a-string",
    ),
    pytest.param(
        bad('name = "Quiz"', 'name = "' + "Q" * 201 + '"'),
        ['platform.toml: projects[slug="quiz"].name: is longer than 200 characters'],
        id="too-long",
    ),
    pytest.param(
        bad(
            'gbbbc = "member" }\n\n[[users]]\nusername = "bob"',
            'zzebu = "member" }\n\n[[users]]\nusername = "bob"',
        ),
        [
            'platform.toml: users[username="alice"].organisations.zzebu: '
            "no organisation 'zzebu' in this file (add it to [[organisations]])"
        ],
        id="unknown-codops-in-user",
    ),
    pytest.param(
        bad('chrts = "admin"', 'chrts = "owner"'),
        [
            'platform.toml: users[username="alice"].organisations.chrts: '
            "'owner' is not a role: use member or admin"
        ],
        id="bad-orga-role",
    ),
    pytest.param(
        bad('allowed_organisations = ["chrts"]', 'allowed_organisations = ["chrts", "xx"]'),
        [
            'platform.toml: projects[slug="polls"].allowed_organisations[1]: '
            "no organisation 'xx' in this file"
        ],
        id="unknown-allowed-organisation",
    ),
    pytest.param(
        bad('bob = "member" }', 'carol = "member" }'),
        [
            'platform.toml: projects[slug="polls"].members.carol: '
            "no user 'carol' in this file (add it to [[users]])"
        ],
        id="unknown-member",
    ),
    pytest.param(
        bad('bob = "member" }', 'bob = "owner" }'),
        ["platform.toml: projects[slug=\"polls\"].members.bob: 'owner' is not a role"],
        id="bad-project-role",
    ),
    pytest.param(
        bad('subscriptions.bob = ["pro"]', 'subscriptions."bob@x" = ["pro"]'),
        [
            'platform.toml: projects[slug="polls"].subscriptions."bob@x": '
            "no user 'bob@x' in this file"
        ],
        id="unknown-subscriber",
    ),
    pytest.param(
        bad('subscriptions.bob = ["pro"]', 'subscriptions.bob = ["pro", "pro"]'),
        ["platform.toml: projects[slug=\"polls\"].subscriptions.bob: the label 'pro' is listed"],
        id="duplicate-label",
    ),
    pytest.param(
        bad('subscriptions.bob = ["pro"]', "subscriptions.bob = [1]"),
        [
            'platform.toml: projects[slug="polls"].subscriptions.bob[0]: '
            "must be a label or a table with a label, not int"
        ],
        id="label-not-a-string",
    ),
    pytest.param(
        bad('subscriptions.bob = ["pro"]', 'subscriptions.bob = "pro"'),
        ['platform.toml: projects[slug="polls"].subscriptions.bob: must be an array of labels'],
        id="labels-not-an-array",
    ),
    pytest.param(
        bad("valid_from = 2025-01-01", "valid_from = 2031-01-01"),
        [
            'platform.toml: projects[slug="polls"].subscriptions.alice[1].valid_until: '
            "must be later than valid_from"
        ],
        id="ends-before-it-starts",
    ),
    pytest.param(
        bad("valid_from = 2025-01-01", 'valid_from = "2025-01-01"'),
        [
            'platform.toml: projects[slug="polls"].subscriptions.alice[1].valid_from: '
            "must be a TOML date or date-time, not '2025-01-01'"
        ],
        id="date-as-string",
    ),
    pytest.param(
        bad('user_fields = ["username"', 'user_fields = ["password", "username"'),
        [
            'platform.toml: projects[slug="polls"].user_fields: unknown fields '
            "'password' (allowed: username, id, pk"
        ],
        id="field-outside-the-allow-list",
    ),
    pytest.param(
        bad('user_fields = ["username", "email", "subscription_labels"]', 'user_fields = "all"'),
        ['platform.toml: projects[slug="polls"].user_fields: must be an array of field names'],
        id="fields-not-an-array",
    ),
    pytest.param(
        bad('layout = "plain"', 'layout = "sidebar"'),
        ["platform.toml: projects[slug=\"polls\"].layout: 'sidebar' is not one of menu, plain"],
        id="bad-layout",
    ),
    pytest.param(
        bad('visibility = "members"', 'visibility = "secret"'),
        ["platform.toml: projects[slug=\"polls\"].visibility: 'secret' is not one of public"],
        id="bad-visibility",
    ),
    pytest.param(
        bad('password_env = "PW_ROOT"', 'password_env = "PW_NOBODY"'),
        [
            'platform.toml: users[username="root"].password_env: '
            "the environment variable PW_NOBODY is not set"
        ],
        id="password-variable-unset",
    ),
    pytest.param(
        bad('password_env = "PW_ROOT"', 'password_env = "$PW_ROOT"'),
        [
            'platform.toml: users[username="root"].password_env: '
            "'$PW_ROOT' is not an environment variable name"
        ],
        id="password-variable-badly-named",
    ),
    pytest.param(
        bad('api_key_env = "KEY_POLLS"', 'api_key_env = "KEY_NONE"'),
        [
            'platform.toml: projects[slug="polls"].api_key_env: '
            "the environment variable KEY_NONE is not set"
        ],
        id="key-variable-unset",
    ),
    pytest.param(
        bad('api_key_env = "KEY_POLLS"', 'api_key_env = "PW_ROOT"'),
        [
            'platform.toml: projects[slug="polls"].api_key_env: '
            "the key in $PW_ROOT is shorter than 20 characters"
        ],
        id="key-too-short",
    ),
]


@pytest.mark.parametrize(("text", "messages"), BAD_FILES)
def test_a_wrong_file_is_refused_whole_and_changes_nothing(
    run: Any, text: str, messages: list[str]
) -> None:
    assert run(FULL).code == 0
    # A valid file that would change a lot, made wrong by one mistake.
    before = snapshot()
    done = run(text.replace('name = "Polls"', 'name = "Polls renamed"'))
    assert done.code == 2
    assert done.out == ""
    for message in messages:
        assert message in done.err
    assert "Traceback" not in done.err
    assert done.err.rstrip().endswith("platform.toml was not applied; nothing was changed.")
    assert snapshot() == before


def test_every_problem_is_listed_not_only_the_first(run: Any) -> None:
    done = run(
        bad('layout = "plain"', 'layout = "sidebar"').replace('"http://polls-2:8000/"', '"x"')
    )
    assert done.code == 2
    problems = [line for line in done.err.splitlines() if "platform.toml: projects[" in line]
    assert len(problems) == 2


def test_an_empty_environment_variable_is_refused(run: Any) -> None:
    done = run(FULL, {**ENV, "PW_ALICE": ""})
    assert done.code == 2
    assert 'users[username="alice"].password_env: the environment variable PW_ALICE is empty' in (
        done.err
    )
    assert not User.objects.exists()


def test_toml_syntax_errors_give_the_line(run: Any) -> None:
    done = run('[[organisations]]\ncodops = "chrts"\nname = RTS\n')
    assert done.code == 2
    assert "platform.toml: not valid TOML: " in done.err
    assert "line 3" in done.err
    assert "Traceback" not in done.err


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    err = io.StringIO()
    assert apply_file(tmp_path / "nowhere.toml", stdout=io.StringIO(), stderr=err) == 2
    assert f"{tmp_path / 'nowhere.toml'}: no such file" in err.getvalue()


@pytest.mark.skipif(not apps.is_installed("allauth.account"), reason="needs django-allauth")
def test_an_address_held_by_another_account_is_refused(run: Any) -> None:
    carol = User.objects.create_user("carol", "carol@example.org")
    apps.get_model("account", "EmailAddress").objects.create(
        user=carol, email="alice@example.org", verified=True, primary=True
    )
    done = run(FULL)
    assert done.code == 2
    assert (
        "platform.toml: users[username=\"alice\"].email: 'alice@example.org' is already the "
        "address of the account 'carol'" in done.err
    )
    assert not Organisation.objects.exists()
    assert not Project.objects.exists()


# -- the command, on real databases ----------------------------------------------------------

POSTGRES_URL = os.environ.get("PLUGIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
SECRET_KEY = "platform-apply-tests-" + "k" * 40


def command_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without stray PLUGIT_* settings, plus the file's secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(PLUGIT_DATA_DIR=str(data_dir), PLUGIT_SECRET_KEY=SECRET_KEY, **ENV, **settings)
    return env


def plugit_apply(path: Path, env: dict[str, str]) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "plugit", "platform", "apply", str(path)],
        env=env,
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the PostgreSQL server (skipped when none answers, unless CI)."""
    import psycopg

    try:
        psycopg.connect(f"{POSTGRES_URL}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (CI=true): {error}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    name = f"plugit_apply_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TABLES = {
    "platform_organisation": "codops, name",
    "platform_user": "username, email, password, is_staff, is_superuser, is_active, uuid",
    "platform_organisationmembership": "user_id, organisation_id, role",
    "platform_project": "slug, name, orga_mode, proxy_mode, menu_action, layout, visibility, "
    "requires_https, user_fields::text, api_key_hash, updated",
    "platform_projectservice": "project_id, url, position",
    "platform_project_allowed_organisations": "project_id, organisation_id",
    "platform_projectmembership": "user_id, project_id, role",
    "platform_subscription": "user_id, project_id, label, valid_from, valid_until",
    "account_emailaddress": 'user_id, email, verified, "primary"',
}


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row apply writes, straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(url) as connection:
        return {
            table: sorted(connection.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
            for table, columns in TABLES.items()
        }


@pytest.mark.postgres
def test_the_command_on_postgresql_applies_once_then_changes_nothing(tmp_path: Path) -> None:
    import psycopg

    path = tmp_path / "platform.toml"
    path.write_text(FULL)
    with postgres_database() as url:
        env = command_env(tmp_path / "data", PLUGIT_DATABASE_URL=url)
        first = plugit_apply(path, env)
        assert first.code == 0, first.err
        assert list(first.keys) == ["quiz"]
        rows = dump(url)
        assert [r[0] for r in rows["platform_organisation"]] == ["chrts", "gbbbc"]
        users = {r[0]: r for r in rows["platform_user"]}
        assert users["root"][3:5] == (True, True)
        assert users["bob"][2].startswith("!")  # Django's mark of an unusable password
        assert PBKDF2PasswordHasher().verify(ENV["PW_ALICE"], users["alice"][2])
        assert len(rows["platform_projectmembership"]) == 2
        assert len(rows["platform_subscription"]) == 3
        addresses = rows["account_emailaddress"]
        assert sorted(r[1] for r in addresses) == [
            "alice@example.org",
            "bob@example.org",
            "root@example.org",
        ]
        assert all(verified and primary for _, _, verified, primary in addresses)
        with psycopg.connect(url) as connection:
            hashes = dict(connection.execute("SELECT slug, api_key_hash FROM platform_project"))
        assert hashes["quiz"]
        assert first.keys["quiz"] not in hashes["quiz"]

        second = plugit_apply(path, env)
        assert second.code == 0, second.err
        assert "API key" not in second.out
        assert "projects: 0 created, 0 updated, 2 unchanged" in second.out
        assert second.out.rstrip().endswith("platform.toml: unchanged")
        assert dump(url) == rows

        path.write_text(bad('"http://polls-2:8000/"', '"ftp://x"').replace("Polls", "Renamed"))
        wrong = plugit_apply(path, env)
        assert wrong.code == 2
        assert (
            f"{path}: projects[slug=\"polls\"].services[1]: 'ftp://x' is not an http(s) URL"
            in wrong.err
        )
        assert "Traceback" not in wrong.err
        assert dump(url) == rows


def test_the_command_on_the_embedded_database_migrates_and_applies(tmp_path: Path) -> None:
    path = tmp_path / "platform.toml"
    path.write_text(FULL)
    env = command_env(tmp_path / "data")
    first = plugit_apply(path, env)
    assert first.code == 0, first.err
    assert (tmp_path / "data" / "db.sqlite3").exists()
    assert list(first.keys) == ["quiz"]
    second = plugit_apply(path, env)
    assert (second.code, second.keys) == (0, {})
    assert "unchanged" in second.out

    path.write_text("[[organisations]]\ncodops = 'x'\nname = \n")
    wrong = plugit_apply(path, env)
    assert wrong.code == 2
    assert "not valid TOML" in wrong.err
    assert "line 3" in wrong.err
    assert "Traceback" not in wrong.err
