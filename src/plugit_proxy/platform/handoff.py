"""Sign-in on a project's own origin: a one-time token handed over by the platform's origin.

A project origin has cookies of its own, so the platform's session cannot sign anyone in
there. Its "sign in" link (and any page refused to an anonymous visitor) is the project origin's
`/ebuio_login?next=<path>`, which sets a random *state* cookie there (host-only, ten minutes)
and leads to `<platform>/accounts/handoff/<slug>/?next=<path>&state=<its SHA-256>`; there the
user signs in if needed, and the platform redirects to `<project origin>/ebuio_handoff?token=`.
The token is signed with the platform's secret (its own salt), names the user, the project,
the user's session hash, the state and a nonce, lives 60 seconds and is spent once (the nonce
is added to the shared cache: a replay finds it there). The landing accepts it only from the
browser holding the state cookie, so a link carrying someone else's token (login CSRF: an
attacker signing a victim in as the attacker) is refused. A platform link without a state
(`/accounts/handoff/<slug>/`) goes through the project origin's `/ebuio_login` first. The
project origin then writes Django's own sign-in keys into *its* session, so the identity
lookup recognises the user there as on the platform, and a password change signs them out
everywhere.

Signing out: the platform session carries a random sign-in id, copied into every project
session it hands off to; signing out of the platform marks that id as ended in the cache, and
the identity lookup refuses project sessions whose id has ended (one small cache read beside
the account record's, on project origins only).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.signals import user_logged_out
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.cache import caches
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..https import scheme_of, tls_proxy_header
from ..pipeline.state import Runtime
from . import models
from .identities import SIGNIN_SESSION_KEY, PlatformIdentities, signed_out_key
from .origins import HANDOFF_ROUTE, LOGIN_ROUTE, host_and_port, project_origins

__all__ = [
    "HANDOFF_MAX_AGE",
    "HandOff",
    "accept_handoff",
    "handoff",
    "local_path",
    "make_token",
    "read_token",
    "start_login",
    "state_cookie_name",
]

HANDOFF_SALT = "plugit_proxy.platform.handoff"
HANDOFF_MAX_AGE = 60  # seconds: the browser follows the redirect at once
NONCE_KEY_PREFIX = "plugit:handoff:"
STATE_MAX_AGE = 600  # seconds: time enough to type a password on the platform
STATE_PARAM = "state"
_STATE_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, kw_only=True)
class HandOff:
    """What a hand-off token says: who, to which project, in which platform sign-in."""

    user: int
    project: str
    session_hash: str
    backend: str
    signin: str
    state: str
    nonce: str
    next: str


def make_token(handoff: HandOff) -> str:
    """Sign a hand-off with the platform's secret."""
    payload = {
        "u": handoff.user,
        "p": handoff.project,
        "h": handoff.session_hash,
        "b": handoff.backend,
        "s": handoff.signin,
        "t": handoff.state,
        "n": handoff.nonce,
        "x": handoff.next,
    }
    return signing.dumps(payload, salt=HANDOFF_SALT)


def read_token(token: str, project: str) -> HandOff | None:
    """Check a token's signature and age, and that it is for `project`; None when not."""
    try:
        payload = signing.loads(token, salt=HANDOFF_SALT, max_age=HANDOFF_MAX_AGE)
        handoff = HandOff(
            user=int(payload["u"]),
            project=str(payload["p"]),
            session_hash=str(payload["h"]),
            backend=str(payload["b"]),
            signin=str(payload["s"]),
            state=str(payload["t"]),
            nonce=str(payload["n"]),
            next=local_path(str(payload["x"])),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return handoff if handoff.project == project else None


def local_path(target: str) -> str:
    """Keep `target` if it is a path on this origin, else give `/` (never an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def state_cookie_name(secure: bool) -> str:
    """The state cookie's name: `__Host-` on HTTPS, which a sibling origin cannot set."""
    return "__Host-plugit-handoff" if secure else "plugit-handoff"


def state_hash(state: str) -> str:
    """What the platform (and the token) carry of a state cookie: its SHA-256."""
    return hashlib.sha256(state.encode()).hexdigest()


def _secure(request: Request) -> bool:
    return scheme_of(request, tls_proxy_header()) == "https"


def start_login(request: Request, project: str, platform_origin: str) -> Response:
    """Answer a project origin's `/ebuio_login`: set a state cookie, go to the platform."""
    state = secrets.token_urlsafe(32)
    query = urlencode(
        {"next": local_path(request.query_params.get("next", "/")), STATE_PARAM: state_hash(state)}
    )
    path = reverse("platform_handoff", args=[project])
    response = RedirectResponse(f"{platform_origin}{path}?{query}", status_code=302)
    response.headers["cache-control"] = "no-store"
    secure = _secure(request)
    response.set_cookie(
        state_cookie_name(secure),
        state,
        max_age=STATE_MAX_AGE,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    return response


def handoff(request: HttpRequest, slug: str) -> HttpResponse:
    """Hand the signed-in user over to project `slug`'s origin (sign in first if needed)."""
    origins = project_origins()
    if origins is None or not models.Project.objects.filter(slug=slug).exists():
        raise Http404("No such project.")
    origin = origins.project_origin(slug, request.scheme or "http", _port(request))
    next_path = local_path(request.GET.get("next", "/"))
    state = request.GET.get(STATE_PARAM, "")
    if not _STATE_HASH.match(state):  # not from the project origin: go there for a state
        return HttpResponseRedirect(f"{origin}{LOGIN_ROUTE}?{urlencode({'next': next_path})}")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    signin = request.session.get(SIGNIN_SESSION_KEY)
    if not isinstance(signin, str):
        signin = request.session[SIGNIN_SESSION_KEY] = secrets.token_urlsafe(18)
    token = make_token(
        HandOff(
            user=request.user.pk,
            project=slug,
            session_hash=request.user.get_session_auth_hash(),
            backend=str(request.session.get(BACKEND_SESSION_KEY, "")),
            signin=signin,
            state=state,
            nonce=secrets.token_urlsafe(18),
            next=next_path,
        )
    )
    response = HttpResponseRedirect(f"{origin}{HANDOFF_ROUTE}?{urlencode({'token': token})}")
    response["Cache-Control"] = "no-store"
    return response


def _port(request: HttpRequest) -> str:
    return host_and_port(request.get_host())[1]


@receiver(user_logged_out, dispatch_uid="plugit_handoff_signed_out")
def _signed_out(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """End the project sessions this platform session handed off to."""
    signin = None if request is None else request.session.get(SIGNIN_SESSION_KEY)
    if isinstance(signin, str):
        caches["default"].set(signed_out_key(signin), True, settings.SESSION_COOKIE_AGE)


async def accept_handoff(runtime: Runtime, request: Request, project: str) -> Response:
    """Check a hand-off token and sign its user in on this project origin's session."""
    handoff = read_token(request.query_params.get("token", ""), project)
    identities = runtime.identities
    if handoff is None or not isinstance(identities, PlatformIdentities):
        return _refused()
    cookie = state_cookie_name(_secure(request))
    state = request.cookies.get(cookie, "")
    if not state or not constant_time_compare(state_hash(state), handoff.state):
        return _refused()  # not the browser that asked to sign in (or its state expired)
    # Spent before it is used: of two requests with one token, one finds the nonce taken.
    if not await runtime.cache.aadd(NONCE_KEY_PREFIX + handoff.nonce, 1, HANDOFF_MAX_AGE * 2):
        return _refused()
    record = await identities.account(handoff.user)
    if (
        record is None
        or not record["is_active"]
        or not constant_time_compare(handoff.session_hash, record["session_hash"])
    ):
        return _refused()
    session = runtime.sessions.load(request.cookies)
    await session.store.aflush()  # a new session key: nothing planted before survives
    for key, value in (
        (SESSION_KEY, str(handoff.user)),
        (BACKEND_SESSION_KEY, handoff.backend),
        (HASH_SESSION_KEY, handoff.session_hash),
        (SIGNIN_SESSION_KEY, handoff.signin),
    ):
        await session.set(key, value)
    response = RedirectResponse(handoff.next, status_code=302)
    response.headers["cache-control"] = "no-store"
    response.delete_cookie(cookie, path="/", secure=cookie.startswith("__Host-"))
    await runtime.sessions.save(session, response)
    return response


def _refused() -> Response:
    return HTMLResponse(
        "<!doctype html><title>Sign-in link refused</title><h1>Sign-in link refused</h1>"
        "<p>This sign-in link is not valid here, has expired or was already used. "
        f'<a href="{LOGIN_ROUTE}">Sign in again</a>.</p>',
        status_code=400,
        headers={"cache-control": "no-store"},
    )
