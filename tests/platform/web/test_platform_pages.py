"""The platform as users see it: home, sign-in, visibility, roles, organisations, fields."""

from __future__ import annotations

import re

from plugit_platform_launch import Platform


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</', html, re.S)
    assert found is not None, f"no #{element_id} in:\n{html}"
    return found.group(1)


def switchable(html: str) -> list[str]:
    """The organisations the page offers to switch to (the service's own links)."""
    return re.findall(r'ebuio_setOrga\?orga=\d+">(\w+)</a>', html)


def test_home_lists_what_each_user_can_open(platform: Platform) -> None:
    anonymous = platform.client().get("/")
    assert anonymous.status_code == 200
    assert "/p/alpha/" in anonymous.text
    assert "/p/beta/" not in anonymous.text  # members only
    assert "/p/gamma/" not in anonymous.text  # signed-in users only
    assert 'href="/accounts/login/"' in anonymous.text

    carol = platform.login("carol").get("/")  # signed in, member of nothing
    assert "/p/alpha/" in carol.text
    assert "/p/gamma/" in carol.text
    assert "/p/beta/" not in carol.text
    dave = platform.login("dave").get("/")
    assert all(f"/p/{slug}/" in dave.text for slug in ("alpha", "beta", "gamma"))


def test_pages_are_served_under_their_slug(platform: Platform) -> None:
    page = platform.client().get("/p/alpha/")
    assert page.status_code == 200
    assert text_of(page.text, "title") == "Shared"
    assert text_of(page.text, "base") == "/p/alpha/"
    assert text_of(page.text, "who") == "stranger"
    media = platform.client().get("/p/alpha/media/style.css")
    assert media.status_code == 200
    assert media.text == "/* Shared */"
    assert platform.client().get("/p/alpha").headers["location"] == "/p/alpha/"
    assert platform.client().get("/p/nope/").status_code == 404


def test_a_page_for_signed_in_users_redirects_to_the_login_form(platform: Platform) -> None:
    client = platform.client()
    answer = client.get("/p/alpha/logged")
    assert answer.status_code == 302
    assert answer.headers["location"] == "/accounts/login/?next=%2Fp%2Falpha%2Flogged"
    form = client.get(answer.headers["location"])
    assert form.text.count('type="password"') == 1
    assert '<form method="post"' in form.text

    from plugit_platform_launch import sign_in

    signed_in = sign_in(client, "carol", "/p/alpha/logged")
    assert signed_in.headers["location"] == "/p/alpha/logged"
    page = client.get("/p/alpha/logged")
    assert page.status_code == 200
    assert "signed-in page" in page.text


def test_login_redirect_goes_only_to_local_paths(platform: Platform) -> None:
    from plugit_platform_launch import sign_in

    answer = sign_in(platform.client(), "carol", "https://evil.example.org/")
    assert answer.headers["location"] == "/"


def test_visibility_members_and_signed_in(platform: Platform) -> None:
    anonymous = platform.client()
    assert anonymous.get("/p/beta/").headers["location"].startswith("/accounts/login/?next=")
    assert anonymous.get("/p/gamma/").headers["location"].startswith("/accounts/login/?next=")
    assert anonymous.get("/p/beta/media/style.css").status_code == 302

    carol = platform.login("carol")
    assert carol.get("/p/beta/").status_code == 403  # signed in, not a member
    assert carol.get("/p/gamma/").status_code == 200
    dave = platform.login("dave")
    assert dave.get("/p/beta/").status_code == 200


def test_roles_and_organisations_drive_the_flags(platform: Platform) -> None:
    alice = platform.login("alice")
    page = alice.get("/p/alpha/").text
    assert text_of(page, "who") == "alice"
    assert text_of(page, "roles") == ("member=True admin=True orga_member=True orga_admin=False")
    assert text_of(page, "orga") == "EBU"  # the first of hers by name
    assert switchable(page) == ["EBU", "RTS"]

    bob = platform.login("bob").get("/p/alpha/").text
    assert text_of(bob, "roles") == "member=True admin=False orga_member=True orga_admin=False"
    carol = platform.login("carol").get("/p/alpha/").text
    assert text_of(carol, "roles") == "member=False admin=False orga_member=True orga_admin=True"


def test_switching_organisation(platform: Platform) -> None:
    alice = platform.login("alice")
    rts = re.search(r'ebuio_setOrga\?orga=(\d+)">RTS', alice.get("/p/alpha/").text)
    assert rts is not None
    switched = alice.get(f"/p/alpha/ebuio_setOrga?orga={rts.group(1)}&next=/p/alpha/")
    assert switched.status_code == 302
    assert switched.headers["location"] == "/p/alpha/"
    page = alice.get("/p/alpha/").text
    assert text_of(page, "orga") == "RTS"
    assert "orga_admin=True" in text_of(page, "roles")
    whoami = alice.get("/p/alpha/whoami").json()
    assert whoami["ebuio_orgapk"] == [rts.group(1)]

    bbc = re.search(r'ebuio_setOrga\?orga=(\d+)">BBC', platform.login("bob").get("/p/alpha/").text)
    assert bbc is not None
    refused = alice.get(f"/p/alpha/ebuio_setOrga?orga={bbc.group(1)}")
    assert refused.status_code == 403  # not one of hers
    assert text_of(alice.get("/p/alpha/").text, "orga") == "RTS"
    assert alice.get("/p/alpha/ebuio_setOrga?orga=x").status_code == 400


def test_a_project_accepts_only_its_organisations(platform: Platform) -> None:
    alice = platform.login("alice").get("/p/beta/").text  # beta accepts RTS and BBC only
    assert text_of(alice, "orga") == "RTS"
    assert switchable(alice) == ["RTS"]


def test_only_granted_user_fields_reach_the_service(platform: Platform) -> None:
    alice = platform.login("alice")
    sent = alice.get("/p/alpha/whoami").json()
    assert sent["ebuio_u_username"] == ["alice"]
    assert sent["ebuio_u_email"] == ["alice@example.org"]
    assert sent["ebuio_u_subscription_labels"] == ["gold", "pro"]  # one value per label
    assert sent["ebuio_u_ebuio_admin"] == ["True"]

    refused = alice.get("/p/beta/whoami")  # beta is not granted email
    assert refused.status_code == 500
    assert "'email'" in refused.text
    assert "alice@example.org" not in refused.text
    minimal = alice.get("/p/beta/whoami_min").json()
    assert minimal["ebuio_u_username"] == ["alice"]
    page = alice.get("/p/beta/").text  # templates see only the granted fields too
    assert text_of(page, "email") == "[]"
    assert text_of(page, "roles") == "member= admin= orga_member= orga_admin="


def test_browser_supplied_ebuio_parameters_are_dropped(platform: Platform) -> None:
    sent = (
        platform.login("bob")
        .get("/p/alpha/whoami", params={"ebuio_u_username": "root", "ebuio_orgapk": "1"})
        .json()
    )
    assert sent["ebuio_u_username"] == ["bob"]
    assert len(sent["ebuio_orgapk"]) == 1


def test_logout_signs_out(platform: Platform) -> None:
    client = platform.login("carol")
    assert text_of(client.get("/p/alpha/").text, "who") == "carol"
    form = client.get("/accounts/logout/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    client.post("/accounts/logout/", data={"csrfmiddlewaretoken": token.group(1)})
    assert text_of(client.get("/p/alpha/").text, "who") == "stranger"


def test_forms_need_the_csrf_token(platform: Platform) -> None:
    bob = platform.login("bob")
    refused = bob.post("/p/alpha/set", data={"value": "x"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    token = bob.cookies["csrftoken"]
    accepted = bob.post("/p/alpha/set", data={"value": "x"}, headers={"X-CSRFToken": token})
    assert accepted.status_code != 403  # through the CSRF check (the action takes GET only)


def test_plain_http_works_with_no_setting(platform: Platform) -> None:
    from plugit_platform_launch import sign_in

    answer = sign_in(platform.client(), "carol")
    cookies = answer.headers.get_list("set-cookie")
    assert any(cookie.startswith("sessionid=") for cookie in cookies)
    assert not any("secure" in cookie.lower() for cookie in cookies)


def test_the_admin_is_for_staff(platform: Platform) -> None:
    assert platform.client().get("/admin/").headers["location"].startswith("/admin/login/")
    assert platform.login("root").get("/admin/").status_code == 200
    assert platform.login("bob").get("/admin/").status_code == 302
