"""The platform's sessions live on the server: the browser's cookie is an opaque key.

Over real sockets, on the embedded stores (a disk cache) and on PostgreSQL + Redis: a
session cookie kept from before signing out no longer signs anyone in, and what a service
stores with SetSession appears in no cookie the browser receives.
"""

from __future__ import annotations

import re

import httpx
from plugit_platform_launch import Platform
from test_platform_pages import text_of

from cookie_kit import readable

SESSION_KEY = re.compile(r"[a-z0-9]{32}")


def sign_out(client: httpx.Client) -> None:
    form = client.get("/accounts/logout/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None, form.text
    answer = client.post("/accounts/logout/", data={"csrfmiddlewaretoken": token.group(1)})
    assert answer.status_code == 302


def test_a_cookie_kept_from_before_sign_out_signs_nobody_in(platform: Platform) -> None:
    carol = platform.login("carol")
    kept = carol.cookies["sessionid"]
    assert SESSION_KEY.fullmatch(kept)
    assert text_of(carol.get("/p/alpha/").text, "who") == "carol"
    sign_out(carol)

    replay = platform.client()
    replay.cookies.set("sessionid", kept)
    assert text_of(replay.get("/p/alpha/").text, "who") == "stranger"
    account = replay.get("/accounts/email/")
    assert account.status_code == 302
    assert account.headers["location"].startswith("/accounts/login/")


def test_set_session_values_appear_in_no_cookie(platform: Platform) -> None:
    bob = platform.login("bob")
    secret = "kept-on-the-server-7f3a"
    answer = bob.get("/p/alpha/set", params={"value": secret})
    assert answer.json() == {"set": True}
    sent = answer.headers.get_list("set-cookie")
    assert any(header.startswith("sessionid=") for header in sent), sent
    for header in sent:
        value = header.split(";", 1)[0].split("=", 1)[1]
        assert secret not in readable(value)
    assert SESSION_KEY.fullmatch(bob.cookies["sessionid"])
    assert bob.get("/p/alpha/get").json() == {"session": {"secret": secret}}
