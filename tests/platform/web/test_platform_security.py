"""The platform's own pages, hardened (issue 15), over real sockets.

One platform with `PLUGIT_PUBLIC_URL=https://platform.example.test` and allauth's rate limits
on, reached on 127.0.0.1 with that host in the `Host` header, the way a TLS-terminating
reverse proxy forwards requests. Its cookies are `Secure`, so the tests carry them by hand
(an HTTP client rightly keeps Secure cookies off plain HTTP).
"""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from plugit_platform_launch import (
    API_KEYS,
    PASSWORDS,
    Platform,
    apply,
    platform_env,
    platform_toml,
    serving,
)

PUBLIC_URL = "https://platform.example.test"
PUBLIC_HOST = "platform.example.test"
ALIAS_HOST = "alias.example.test"  # allowed too (PLUGIT_ALLOWED_HOSTS), yet never in a link
KEY_FAILURES = 3
LOGIN_FAILURES = 5  # allauth's default: 5 failed logins per account in 5 minutes


@pytest.fixture(scope="module")
def hardened(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Platform, Path]]:
    workdir = tmp_path_factory.mktemp("hardened")
    mailbox = workdir / "mail"
    env = platform_env(
        workdir / "data",
        PLUGIT_PUBLIC_URL=PUBLIC_URL,
        PLUGIT_ALLOWED_HOSTS=ALIAS_HOST,
        PLUGIT_EMAIL_URL=f"file://{mailbox}",
        PLUGIT_LOGIN_RATE_LIMITS="true",
        PLUGIT_API_KEY_FAILURES=str(KEY_FAILURES),
    )
    apply(env, workdir, platform_toml(service_urls["shared"], service_urls["other"]))
    with serving(env, workdir) as platform:
        yield platform, mailbox


class Browser:
    """A client sending `host` and carrying every cookie by hand, Secure ones included."""

    def __init__(self, platform: Platform, host: str = PUBLIC_HOST) -> None:
        self.client = platform.client()
        self.host = host
        self.cookies: dict[str, str] = {}
        self.set_cookie_lines: list[str] = []

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.client.request(method, path, headers=headers, **options)  # type: ignore[arg-type]
        self.client.cookies.clear()
        for line in answer.headers.get_list("set-cookie"):
            self.set_cookie_lines.append(line)
            name, _, value = line.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return answer

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.request("GET", path, **options)

    def post_form(self, path: str, **fields: str) -> httpx.Response:
        """GET the form at `path`, then POST it with its CSRF token, like a browser."""
        form = self.get(path)
        assert form.status_code == 200, form.text
        return self.request("POST", path, data={"csrfmiddlewaretoken": csrf(form), **fields})


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def mails(mailbox: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(mailbox.glob("*.log")))


def assert_plain_400(answer: httpx.Response) -> None:
    assert answer.status_code == 400
    assert "Traceback" not in answer.text
    assert "DisallowedHost" not in answer.text


# -- High 1: password-reset poisoning -----------------------------------------------------------


def test_a_reset_asked_for_another_host_is_refused_and_mails_nothing(
    hardened: tuple[Platform, Path],
) -> None:
    platform, mailbox = hardened
    browser = Browser(platform)
    token = csrf(browser.get("/accounts/password/reset/"))
    browser.host = "evil.example"
    answer = browser.request(
        "POST",
        "/accounts/password/reset/",
        data={"csrfmiddlewaretoken": token, "email": "carol@example.org"},
    )
    assert_plain_400(answer)
    assert "evil.example" not in mails(mailbox)
    assert_plain_400(browser.get("/accounts/login/"))
    assert_plain_400(Browser(platform, host=platform.url.removeprefix("http://")).get("/"))


def test_the_reset_mail_links_to_the_public_url(hardened: tuple[Platform, Path]) -> None:
    platform, mailbox = hardened
    for host, email in ((PUBLIC_HOST, "dave@example.org"), (ALIAS_HOST, "bob@example.org")):
        asked = Browser(platform, host).post_form("/accounts/password/reset/", email=email)
        assert asked.status_code == 302, asked.text
    text = mails(mailbox)
    links = re.findall(r"\S+/accounts/password/reset/key/\S+", text)
    assert len(links) == 2, text
    assert all(link.startswith(f"{PUBLIC_URL}/accounts/password/reset/key/") for link in links)
    assert ALIAS_HOST not in text


# -- Low: cookies Secure behind TLS, sign-up reveals nothing, data private -----------------------


def test_cookies_are_secure_with_an_https_public_url(hardened: tuple[Platform, Path]) -> None:
    platform, _ = hardened
    browser = Browser(platform)
    browser.get("/accounts/login/")
    [line] = [line for line in browser.set_cookie_lines if line.startswith("csrftoken=")]
    assert "secure" in [part.strip().lower() for part in line.split(";")]


def test_sign_up_says_nothing_about_existing_accounts(hardened: tuple[Platform, Path]) -> None:
    platform, mailbox = hardened
    form = Browser(platform).get("/accounts/signup/")
    assert 'name="username"' not in form.text  # no name to pick: none said to be taken
    answers = [
        Browser(platform).post_form(
            "/accounts/signup/", email=email, password1="x-Pa55word!9", password2="x-Pa55word!9"
        )
        for email in ("alice@example.org", "frank@example.org")  # alice exists, frank does not
    ]
    assert [a.status_code for a in answers] == [302, 302], answers[0].text
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert "alice@example.org" in mails(mailbox)  # alice is told, privately, by mail


def test_the_data_folder_and_database_are_private(hardened: tuple[Platform, Path]) -> None:
    platform, _ = hardened
    data = Path(platform.env["PLUGIT_DATA_DIR"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "db.sqlite3").stat().st_mode) == 0o600


# -- Medium 9: the platform's own pages carry security headers ----------------------------------


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/"])
def test_own_pages_forbid_framing_sniffing_and_foreign_scripts(
    hardened: tuple[Platform, Path], path: str
) -> None:
    platform, _ = hardened
    answer = Browser(platform).get(path)
    assert answer.status_code == 200
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    policy = [part.strip() for part in answer.headers["content-security-policy"].split(";")]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in answer.headers["content-security-policy"]


# -- Medium 8: the admin's login form is rate limited --------------------------------------------


def test_the_admin_login_is_throttled_like_the_accounts_login(
    hardened: tuple[Platform, Path],
) -> None:
    platform, _ = hardened
    browser = Browser(platform)
    for _ in range(LOGIN_FAILURES):
        wrong = browser.post_form("/admin/login/", username="bob", password="wrong")
        assert wrong.status_code == 200  # the form again, with its error
    right = browser.post_form("/admin/login/", username="bob", password=PASSWORDS["bob"])
    assert right.status_code == 429
    # The same budget as the accounts' form: that one refuses bob now too.
    elsewhere = Browser(platform).post_form(
        "/accounts/login/", login="bob", password=PASSWORDS["bob"]
    )
    assert elsewhere.status_code in {200, 429}  # not the 302 of a successful sign-in


# -- Low: API keys kept out of the access log; guesses rate limited -----------------------------


def test_api_keys_never_reach_the_access_log(hardened: tuple[Platform, Path]) -> None:
    platform, _ = hardened
    key = API_KEYS["alpha"]
    answer = Browser(platform).get(f"/p/alpha/ebuio_api/{key}/orgas/?key={key}")
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 10
    while "/p/alpha/ebuio_api/***/orgas/" not in platform.output:
        assert time.monotonic() < deadline, platform.output
        time.sleep(0.05)
    assert key not in platform.output


def test_api_key_guesses_are_rate_limited(hardened: tuple[Platform, Path]) -> None:
    platform, _ = hardened
    browser = Browser(platform)
    for attempt in range(KEY_FAILURES):
        wrong = browser.get(f"/p/alpha/ebuio_api/guess-{attempt}-{'x' * 30}/orgas/")
        assert wrong.status_code == 403
    right = browser.get(f"/p/alpha/ebuio_api/{API_KEYS['alpha']}/orgas/")
    assert right.status_code == 429  # not even checked: a right guess looks like a wrong one
    assert int(right.headers["retry-after"]) > 0
    assert "error" in right.json()
