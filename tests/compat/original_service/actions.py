# -*- coding: utf-8 -*-
# ruff: noqa  -- written exactly in the style of the original PlugIt services, on purpose
# fmt: off
"""A small notes service, written the way services for the original PlugIt were written."""

from flask import abort

import plugit
from plugit.utils import (
    action,
    only_logged_user,
    only_member_user,
    only_admin_user,
    user_info,
    json_only,
    PlugItRedirect,
    PlugItSetSession,
    get_session_from_request,
)

import config

NOTES = {
    1: {"title": "Welcome", "text": "The first note.", "private": False},
    2: {"title": "Secret", "text": "Only for its author.", "private": True},
}


def _notes():
    return [{"id": pk, "title": note["title"]} for pk, note in sorted(NOTES.items())][
        : config.NOTES_PER_PAGE
    ]


@action(route="/", template="home.html")
@user_info(props=["username", "ebuio_member", "ebuio_admin"])
def home(request):
    """The notes, and who is looking."""
    session = get_session_from_request(request)
    return {
        "notes": _notes(),
        "username": request.args.get("ebuio_u_username", ""),
        "theme": session.get("theme", "light"),
    }


@action(route="/note/<int:noteId>", template="note.html")
@only_logged_user()
def note(request, noteId):
    if noteId not in NOTES:
        abort(404)
    if NOTES[noteId]["private"]:
        abort(403)
    return {"note": NOTES[noteId], "noteId": noteId}


@action(route="/add", template="add.html", methods=["GET", "POST"])
@only_member_user()
@user_info(props=["username"])
def add(request):
    if request.method == "POST":
        title = request.form.get("title", "").strip()
        if not title:
            return {"error": "A note needs a title."}
        pk = max(NOTES) + 1
        NOTES[pk] = {"title": title, "text": request.form.get("text", ""), "private": False}
        return PlugItRedirect("note/%d" % pk)
    return {}


@action(route="/suggest", methods=["POST"])
@json_only()
def suggest(request):
    """What the jQuery helper of add.html asks for."""
    topic = request.form.get("topic", "").strip() or "anything"
    return {"title": "Some thoughts about %s" % topic}


@action(route="/admin", template="admin.html")
@only_admin_user()
def admin(request):
    return {"database": plugit.app.config["SQLALCHEMY_DATABASE_URI"], "count": len(NOTES)}


@action(route="/theme/<name>")
def theme(request, name):
    return PlugItSetSession(PlugItRedirect("/"), {"theme": name})


@action(route="/reset")
@json_only()
def reset(request):
    return PlugItSetSession({"reset": True})
