# -*- coding: utf-8 -*-
# ruff: noqa  -- written in the style of the original services on purpose
"""A service written the way original (Python 2-era) PlugIt services were, ported to Python 3.

Only the names of `plugit.utils` and the request's `args`, `form`, `files` and `headers` are
used: this file must keep working unchanged.
"""

import os

from plugit.utils import (
    action,
    only_logged_user,
    only_member_user,
    only_admin_user,
    only_orga_member_user,
    only_orga_admin_user,
    cache,
    user_info,
    public,
    json_only,
    xml_only,
    no_template,
    address_in_networks,
    send_etag,
    crossdomain,
    PlugItRedirect,
    PlugItSendFile,
    PlugItSetSession,
    get_session_from_request,
)
from plugit.utils import abort

import config

POLLS = {1: {"title": "Favourite colour?", "votes": {"red": 0, "blue": 0}}}


@action(route="/", template="home.html")
@only_logged_user()
@user_info(props=["username", "ebuio_admin"])
@cache(time=60, byUser=False)
def home(request):
    """List the polls."""
    polls = [{"id": pk, "title": poll["title"]} for pk, poll in sorted(POLLS.items())]
    return {
        "polls": polls,
        "who": request.args.get("ebuio_u_username"),
        "admin": request.args.get("ebuio_u_ebuio_admin") == "True",
        "debug": config.DEBUG,
    }


@action(route="/show/<int:pollId>", template="show.html", methods=["GET", "POST"])
@only_member_user()
@user_info(props=["username"])
def show(request, pollId):
    if pollId not in POLLS:
        abort(404)
    poll = POLLS[pollId]
    if request.method == "POST":
        choice = request.form.get("choice")
        if choice not in poll["votes"]:
            return {"error": "unknown choice", "poll": poll}
        poll["votes"][choice] += 1
        return PlugItRedirect("show/%d" % pollId)
    return {"poll": poll, "pollId": pollId, "who": request.form.get("ebuio_u_username")}


@action(route="/create", methods=["POST"])
@only_admin_user()
def create(request):
    title = request.form["title"]
    pk = max(POLLS) + 1
    POLLS[pk] = {"title": title, "votes": dict((c, 0) for c in request.form.getlist("choice"))}
    return PlugItRedirect("show/%d" % pk)


@action(route="/orga", template="home.html")
@only_orga_member_user()
@only_orga_admin_user()
@public()
@no_template()
def orga(request):
    return {"orga": request.args.get("ebuio_orgapk")}


@action(route="/export/<path:name>")
@json_only()
def export(request, name):
    here = os.path.dirname(os.path.abspath(__file__))
    return PlugItSendFile(
        os.path.join(here, "files", "export.csv"),
        "text/csv",
        as_attachment=True,
        attachment_filename=name,
    )


@action(route="/feed")
@xml_only()
@address_in_networks(networks=["127.0.0.1/32"])
def feed(request):
    return {"xml": "<feed><title>Polls</title></feed>"}


@action(route="/login", methods=["POST"])
def login(request):
    return PlugItSetSession(
        PlugItRedirect("/", no_prefix=True), {"logged_as": request.form["name"]}
    )


@action(route="/whoami")
def whoami(request):
    session = get_session_from_request(request)
    return {"session": session, "remote": request.headers.get("X-Plugit-Remote-Addr")}


@action(route="/upload", methods=["POST"])
def upload(request):
    upload = request.files["file"]
    return {"filename": upload.filename, "size": len(upload.stream.read())}


@action(route="/versioned")
@send_etag()
def versioned(request):
    return {"_plugit_etag": "poll-v1", "version": 1}


@action(route="/api/polls", methods=["GET"])
@crossdomain(origin="*", max_age=600)
@json_only()
def api_polls(request):
    return {"count": len(POLLS)}


@action(route="/broken")
def broken(request):
    return 1 / 0
