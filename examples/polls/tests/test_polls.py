"""The polls example, tested the way a proxy calls it (in-process and over a real socket)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from polls.models import default_database_url

from plugit import Service
from plugit.simulation import ADMIN, ANONYMOUS, EBU, LOGGED, MEMBER
from plugit.testing import LiveServer, ServiceClient

TEMPLATES = Path(__file__).resolve().parent.parent / "polls" / "templates"


def create_poll(client: ServiceClient, question: str, *choices: str) -> int:
    """Create a poll as a member; return its id (read from the redirect)."""
    page = client.post("/create", data={"question": question, "choice": list(choices)}, user=MEMBER)
    assert page.status_code == 302
    assert page.redirect is not None
    assert page.redirect.startswith("show/")
    return int(page.redirect.removeprefix("show/"))


def choice_ids(client: ServiceClient, poll_id: int) -> dict[str, int]:
    """The poll's choices by text."""
    data: dict[str, Any] = client.get(f"/show/{poll_id}").data
    return {choice["text"]: choice["id"] for choice in data["choices"]}


def vote(client: ServiceClient, poll_id: int, text: str, user: Any = LOGGED) -> Any:
    """Vote for the choice `text` as `user`."""
    choice = choice_ids(client, poll_id)[text]
    return client.post(f"/vote/{poll_id}", data={"choice": str(choice)}, user=user)


# -- reading ---------------------------------------------------------------------------------
def test_an_empty_service_says_there_are_no_polls(client: ServiceClient, render: Any) -> None:
    page = client.get("/", user=ANONYMOUS)
    assert page.data == {"polls": [], "latest": []}
    assert "No polls yet." in render(page).text


def test_anonymous_users_see_the_list_and_the_results(client: ServiceClient, render: Any) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    vote(client, poll_id, "Coffee")

    listing = render(client.get("/", user=ANONYMOUS)).text
    assert "Tea or coffee? 1 vote" in listing

    shown = render(client.get(f"/show/{poll_id}", user=ANONYMOUS))
    assert "Tea or coffee?" in shown.text
    assert "Tea 0 (0%)" in shown.text
    assert "Coffee 1 (100%)" in shown.text
    assert "Sign in to vote." in shown.text
    assert "<form" not in shown.html


def test_public_pages_open_to_anyone_even_in_organisation_mode(client: ServiceClient) -> None:
    for route in ("/", "/menubar"):
        page = client.get(route, user=ANONYMOUS, orga=EBU)
        assert page.status_code == 200
        assert page.meta["public"] is True
        assert page.denied_by is None


def test_an_unknown_poll_is_a_404(client: ServiceClient) -> None:
    assert client.get("/show/42").status_code == 404
    assert client.get("/voters/42", user=ADMIN).status_code == 404
    assert client.post("/vote/42", data={"choice": "1"}, user=LOGGED).status_code == 404


def test_the_list_marks_the_polls_the_user_voted_in(client: ServiceClient, render: Any) -> None:
    voted = create_poll(client, "Cats or dogs?", "Cats", "Dogs")
    create_poll(client, "Sea or mountains?", "Sea", "Mountains")
    vote(client, voted, "Dogs", user=LOGGED)

    polls = client.get("/", user=LOGGED).data["polls"]
    assert [(p["question"], p["voted"]) for p in polls] == [
        ("Sea or mountains?", False),
        ("Cats or dogs?", True),
    ]
    assert render(client.get("/", user=LOGGED), LOGGED).text.count("you voted") == 1
    assert "you voted" not in render(client.get("/", user=MEMBER), MEMBER).text


# -- voting ----------------------------------------------------------------------------------
def test_signed_in_users_get_a_vote_form(client: ServiceClient, render: Any) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    shown = render(client.get(f"/show/{poll_id}", user=LOGGED), LOGGED)
    assert f'action="/plugIt/vote/{poll_id}"' in shown.html
    assert 'name="csrfmiddlewaretoken" value="the-csrf-token"' in shown.html
    assert "Your vote" in shown.text


def test_anonymous_users_cannot_vote(client: ServiceClient) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    page = vote(client, poll_id, "Tea", user=ANONYMOUS)
    assert page.status_code == 403
    assert page.denied_by == "only_logged_user"
    assert client.get(f"/show/{poll_id}").data["total"] == 0


def test_a_vote_counts_and_leads_back_to_the_poll(client: ServiceClient, render: Any) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    page = vote(client, poll_id, "Tea", user=LOGGED)
    assert page.redirect == f"show/{poll_id}"

    shown = render(client.get(f"/show/{poll_id}", user=LOGGED), LOGGED)
    assert "Tea your vote 1 (100%)" in shown.text
    assert "Change your vote" in shown.text


def test_voting_again_changes_the_vote(client: ServiceClient) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    vote(client, poll_id, "Tea", user=LOGGED)
    vote(client, poll_id, "Coffee", user=MEMBER)
    vote(client, poll_id, "Coffee", user=LOGGED)

    data = client.get(f"/show/{poll_id}", user=LOGGED).data
    assert data["total"] == 2
    assert [(c["text"], c["votes"], c["mine"]) for c in data["choices"]] == [
        ("Tea", 0, False),
        ("Coffee", 2, True),
    ]


def test_a_vote_for_another_polls_choice_is_refused(client: ServiceClient, render: Any) -> None:
    first = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    second = create_poll(client, "Cats or dogs?", "Cats", "Dogs")
    cats = choice_ids(client, second)["Cats"]

    page = client.post(f"/vote/{first}", data={"choice": str(cats)}, user=LOGGED)
    assert page.redirect is None
    assert "Pick one of the choices." in render(page, LOGGED).text
    assert client.get(f"/show/{first}").data["total"] == 0


# -- creating --------------------------------------------------------------------------------
def test_members_get_the_new_poll_form(client: ServiceClient, render: Any) -> None:
    form = render(client.get("/create", user=MEMBER), MEMBER)
    assert form.html.count('name="choice"') == 10
    assert 'action="/plugIt/create"' in form.html
    assert 'name="csrfmiddlewaretoken"' in form.html


@pytest.mark.parametrize("user", [ANONYMOUS, LOGGED])
def test_only_members_create_polls(client: ServiceClient, user: Any) -> None:
    page = client.post("/create", data={"question": "Q?", "choice": ["A", "B"]}, user=user)
    assert page.status_code == 403
    assert page.denied_by in {"only_member_user", "only_logged_user"}
    assert client.get("/").data["polls"] == []


def test_a_new_poll_remembers_its_author(client: ServiceClient) -> None:
    poll_id = create_poll(client, "  Tea or coffee?  ", "Tea", "", "Coffee", " ")
    data = client.get(f"/show/{poll_id}").data
    assert data["poll"]["question"] == "Tea or coffee?"
    assert data["poll"]["author"] == MEMBER.username
    assert [c["text"] for c in data["choices"]] == ["Tea", "Coffee"]


@pytest.mark.parametrize(
    ("question", "choices", "error"),
    [
        ("", ["Tea", "Coffee"], "Write a question."),
        ("Q" * 201, ["Tea", "Coffee"], "The question is too long: at most 200 characters."),
        ("Tea or coffee?", ["Tea"], "Give at least 2 choices."),
        ("Tea or coffee?", ["Tea", "", "  "], "Give at least 2 choices."),
        ("Pick a number", [str(n) for n in range(11)], "Give at most 10 choices."),
        ("Tea or coffee?", ["Tea", "TEA"], "The choice “TEA” is given twice."),
        ("Tea or coffee?", ["Tea", "C" * 101], "is too long: at most 100 characters."),
    ],
)
def test_an_invalid_poll_is_shown_again_with_its_errors(
    client: ServiceClient, render: Any, question: str, choices: list[str], error: str
) -> None:
    page = client.post("/create", data={"question": question, "choice": choices}, user=MEMBER)
    assert page.redirect is None
    shown = render(page, MEMBER)
    assert "The poll was not created:" in shown.text
    assert error in shown.text
    if question:
        assert f'value="{question}"' in shown.html
    assert client.get("/").data["polls"] == []


# -- administrators ----------------------------------------------------------------------------
def test_admins_see_who_voted_what(client: ServiceClient, render: Any) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    vote(client, poll_id, "Tea", user=LOGGED)
    vote(client, poll_id, "Tea", user=MEMBER)
    vote(client, poll_id, "Coffee", user=ADMIN)

    page = client.get(f"/voters/{poll_id}", user=ADMIN)
    assert page.data["choices"] == [
        {
            "text": "Tea",
            "voters": [{"pk": -1, "username": "logged"}, {"pk": -2, "username": "member"}],
        },
        {"text": "Coffee", "voters": [{"pk": -3, "username": "admin"}]},
    ]
    shown = render(page, ADMIN).text
    assert "Tea (2) logged #-1 member #-2 Coffee (1) admin #-3" in shown


def test_only_admins_see_the_voters_and_the_link_to_them(
    client: ServiceClient, render: Any
) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    page = client.get(f"/voters/{poll_id}", user=MEMBER)
    assert page.status_code == 403
    assert page.denied_by == "only_admin_user"

    link = f'href="/plugIt/voters/{poll_id}"'
    assert link in render(client.get(f"/show/{poll_id}", user=ADMIN), ADMIN).html
    assert link not in render(client.get(f"/show/{poll_id}", user=MEMBER), MEMBER).html


# -- menu and JSON ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "new_poll", "admin_hint"),
    [(ANONYMOUS, False, False), (LOGGED, False, False), (MEMBER, True, False), (ADMIN, True, True)],
)
def test_the_menu_shows_links_by_role(
    client: ServiceClient, render: Any, user: Any, new_poll: bool, admin_hint: bool
) -> None:
    create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    page = render(client.get("/", user=user), user)
    nav = re.search(r"<nav>(.*)</nav>", page.html, re.S)
    assert nav is not None  # each page's own menu block
    assert "Tea or coffee?" in nav.group(1)
    menu = render(client.get("/menubar", user=user), user)
    assert "All polls" in menu.text
    assert "Tea or coffee?" in menu.text
    assert ('href="/plugIt/create"' in menu.html) is new_poll
    assert ("see its voters" in menu.text) is admin_hint


def test_results_as_json(client: ServiceClient) -> None:
    poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
    vote(client, poll_id, "Coffee")
    page = client.get(f"/results/{poll_id}.json")
    assert page.meta["json_only"] is True
    assert page.data["total"] == 1
    assert page.data["choices"] == [{"text": "Tea", "votes": 0}, {"text": "Coffee", "votes": 1}]


# -- the service as a whole ----------------------------------------------------------------------
def test_every_template_extends_the_proxy_layout(service: Service) -> None:
    assert service.check() == []
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        if template.name == "menubar.html":  # a fragment that pages include in their menu
            assert "{% extends" not in text
            continue
        assert text.startswith('{% extends "plugIt/base.html" %}'), template.name
        assert "{% block title %}" in text, template.name
        assert '{% block menubar %}{% plugitInclude "menubar" %}{% endblock %}' in text
        if 'method="post"' in text:
            assert "{% csrf_token %}" in text, template.name


def test_each_service_has_its_own_database(tmp_path: Path) -> None:
    from polls.service import create_service

    first = ServiceClient(create_service(f"sqlite:///{tmp_path / 'one.sqlite3'}"))
    second = ServiceClient(create_service(f"sqlite:///{tmp_path / 'two.sqlite3'}"))
    create_poll(first, "Only here?", "Yes", "No")
    assert len(first.get("/").data["polls"]) == 1
    assert second.get("/").data["polls"] == []


def test_the_database_location_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POLLS_DATABASE_URL", raising=False)
    monkeypatch.setenv("POLLS_DATA_DIR", str(tmp_path))
    assert default_database_url() == f"sqlite:///{tmp_path / 'polls.sqlite3'}"
    monkeypatch.setenv("POLLS_DATABASE_URL", "sqlite:///elsewhere.db")
    assert default_database_url() == "sqlite:///elsewhere.db"


def test_over_a_real_socket(service: Service) -> None:
    with LiveServer(service) as server, ServiceClient.at(server.url) as client:
        poll_id = create_poll(client, "Tea or coffee?", "Tea", "Coffee")
        assert vote(client, poll_id, "Tea").redirect == f"show/{poll_id}"
        assert client.get(f"/show/{poll_id}", user=LOGGED).data["choices"][0]["mine"] is True

        css = httpx.get(f"{server.url}/media/polls.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert ".polls-bar" in css.text
