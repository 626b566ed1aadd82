"""A service written exactly in the original PlugIt's style starts unchanged and speaks the
protocol: its `server.py` of four lines, `config.py`, `flask.abort`, `PlugItSetSession(base)`,
`plugit.app.config`, and templates with a side menu, `pretitle`, Bootstrap 3 and jQuery.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from .conftest import ORIGINAL_SERVICE

TEMPLATES = ORIGINAL_SERVICE / "templates"


@pytest.fixture
def client(original_service: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=original_service) as client:
        yield client


def test_server_py_is_the_original_four_lines() -> None:
    code = [
        line
        for line in (ORIGINAL_SERVICE / "server.py").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert code == [
        "import plugit",
        "import actions",
        "plugit.load_actions(actions)",
        "plugit.app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///notes.db'",
        "plugit.app.run(host='127.0.0.1', debug=plugit.params.DEBUG, threaded=True)",
    ]


def test_ping_and_version(client: httpx.Client) -> None:
    assert client.get("/ping", params={"data": "notes"}).json() == {"data": "notes"}
    assert client.get("/version").json() == {
        "result": "Ok",
        "version": "1",
        "protocol": "EBUio-PlugIt",
    }


def test_meta(client: httpx.Client) -> None:
    home = client.get("/meta/")
    assert home.json() == {
        "template_tag": hashlib.md5((TEMPLATES / "home.html").read_bytes()).hexdigest(),
        "user_info": ["username", "ebuio_member", "ebuio_admin"],
    }
    assert home.headers["cache-control"] == "public, max-age=300"  # DEBUG = False
    assert client.get("/meta/note/1").json()["only_logged_user"] is True
    assert client.get("/meta/add").json()["only_member_user"] is True
    assert client.get("/meta/admin").json()["only_admin_user"] is True
    assert client.get("/meta/suggest").json() == {"template_tag": "", "json_only": True}
    assert client.get("/meta/nowhere").status_code == 404


def test_template_with_menubar_pretitle_bootstrap_3_and_jquery(client: httpx.Client) -> None:
    home = client.get("/template/")
    assert home.text == (TEMPLATES / "home.html").read_text()
    assert '{% extends "plugIt/base.html" %}' in home.text
    assert "{% block menubar %}" in home.text
    assert "{% block pretitle %}" in home.text
    assert 'class="btn btn-default"' in home.text
    add = client.get("/template/add").text
    assert "{% block javascript %}" in add
    assert "$.post(" in add
    assert "csrfmiddlewaretoken" in add


def test_action_with_user_fields_and_session(client: httpx.Client) -> None:
    answer = client.get(
        "/action/",
        params={"ebuio_u_username": "ada", "ebuio_u_ebuio_member": "True"},
        headers={"X-Plugitsession-theme": "dark", "Cookie": "theme=dark"},
    )
    assert answer.json() == {
        "notes": [{"id": 1, "title": "Welcome"}, {"id": 2, "title": "Secret"}],
        "username": "ada",
        "theme": "dark",
    }


def test_flask_abort_answers_404_and_403(client: httpx.Client) -> None:
    assert client.get("/action/note/1").json()["note"]["title"] == "Welcome"
    assert client.get("/action/note/99").status_code == 404
    assert client.get("/action/note/2").status_code == 403


def test_post_a_note_and_the_json_helper(client: httpx.Client) -> None:
    suggestion = client.post("/action/suggest", data={"topic": "tea"})
    assert suggestion.json() == {"title": "Some thoughts about tea"}
    created = client.post("/action/add", data={"title": "Tea", "text": "Green."})
    target = created.headers["EbuIo-PlugIt-Redirect"]
    assert target.startswith("note/")
    assert client.get("/action/" + target).json()["note"]["text"] == "Green."
    refused = client.post("/action/add", data={"title": " "})
    assert refused.json() == {"error": "A note needs a title."}


def test_set_session_headers(client: httpx.Client) -> None:
    theme = client.get("/action/theme/dark")
    assert theme.headers["EbuIo-PlugIt-Redirect"] == "/"
    assert theme.headers["EbuIo-PlugIt-SetSession-theme"] == "dark"
    reset = client.get("/action/reset")  # PlugItSetSession(base), no values
    assert reset.status_code == 200
    assert reset.json() == {"reset": True}
    assert not [name for name in reset.headers if name.lower().startswith("ebuio-plugit-set")]


def test_config_set_in_server_py_is_visible_to_actions(client: httpx.Client) -> None:
    admin = client.get("/action/admin")
    assert admin.json()["database"] == "sqlite:///notes.db"


def test_media(client: httpx.Client) -> None:
    css = client.get("/media/css/notes.css")
    assert css.text == (ORIGINAL_SERVICE / "media" / "css" / "notes.css").read_text()
    gif = client.get("/media/img/dot.gif")
    assert gif.headers["content-type"] == "image/gif"
    assert gif.content.startswith(b"GIF89a")
