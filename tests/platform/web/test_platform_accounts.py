"""Real accounts (django-allauth): sign-up with e-mail verification, password change and
reset by e-mail, on a platform whose mail goes to files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import (
    PASSWORDS,
    Platform,
    apply,
    platform_env,
    platform_toml,
    serving,
)

NEW_PASSWORD = "a-New-Pa55word!"


@pytest.fixture(scope="module")
def mailing_platform(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Path]]:
    workdir = tmp_path_factory.mktemp("accounts")
    mailbox = workdir / "mail"
    env = platform_env(workdir / "data", PLUGIT_EMAIL_URL=f"file://{mailbox}")
    apply(env, workdir, platform_toml(service_urls["shared"], service_urls["other"]))
    with serving(env, workdir) as platform:
        yield platform, mailbox


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def post_form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """Fill the form at `path` like a browser: GET it, POST it with its CSRF token."""
    token = csrf(client.get(path, follow_redirects=True))
    return client.post(path, data={"csrfmiddlewaretoken": token, **fields})


def last_link(mailbox: Path, pattern: str) -> str:
    texts = [
        path.read_text() for path in sorted(mailbox.glob("*.log"), key=lambda p: p.stat().st_mtime)
    ]
    links = re.findall(pattern, "\n".join(texts))
    assert links, texts
    return str(links[-1])


def who(client: httpx.Client) -> str:
    found = re.search(r'id="who">([^<]*)<', client.get("/p/alpha/").text)
    assert found is not None
    return found.group(1)


def test_sign_up_with_email_verification(mailing_platform: tuple[Platform, Path]) -> None:
    platform, mailbox = mailing_platform
    client = platform.client()
    answer = post_form(
        client,
        "/accounts/signup/",
        email="erin@example.org",
        password1="erin-Pa55word!",
        password2="erin-Pa55word!",
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == "/accounts/confirm-email/"
    assert who(client) == "stranger"  # not signed in before the address is verified

    link = last_link(mailbox, r"(http://127\.0\.0\.1:\d+/accounts/confirm-email/[^\s]+/)")
    confirm = link.split(":", 2)[2].split("/", 1)[1]
    assert post_form(client, "/" + confirm).status_code == 302
    login = client.get("/accounts/login/")
    signed_in = client.post(
        "/accounts/login/",
        data={
            "login": "erin@example.org",
            "password": "erin-Pa55word!",
            "csrfmiddlewaretoken": csrf(login),
        },
    )
    assert signed_in.status_code == 302
    assert who(client) == "erin"  # the name made from the address, for the services


def test_password_change_signs_other_sessions_out(mailing_platform: tuple[Platform, Path]) -> None:
    platform, _ = mailing_platform
    here, elsewhere = platform.login("bob"), platform.login("bob")
    assert who(elsewhere) == "bob"
    changed = post_form(
        here,
        "/accounts/password/change/",
        oldpassword=PASSWORDS["bob"],
        password1=NEW_PASSWORD,
        password2=NEW_PASSWORD,
    )
    assert changed.status_code == 302
    assert who(here) == "bob"  # the session that changed it stays signed in
    assert who(elsewhere) == "stranger"


def test_password_reset_by_email(mailing_platform: tuple[Platform, Path]) -> None:
    platform, mailbox = mailing_platform
    client = platform.client()
    asked = post_form(client, "/accounts/password/reset/", email="carol@example.org")
    assert asked.status_code == 302
    link = last_link(mailbox, r"http://127\.0\.0\.1:\d+(/accounts/password/reset/key/[^\s]+/)")
    form = client.get(link, follow_redirects=True)
    assert form.status_code == 200
    reset = client.post(
        str(form.url),
        data={
            "csrfmiddlewaretoken": csrf(form),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert reset.status_code == 302
    fresh = platform.client()
    login = fresh.get("/accounts/login/")
    answer = fresh.post(
        "/accounts/login/",
        data={
            "login": "carol",
            "password": NEW_PASSWORD,
            "csrfmiddlewaretoken": csrf(login),
        },
    )
    assert answer.status_code == 302
    assert who(fresh) == "carol"
