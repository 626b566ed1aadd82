"""Rotating SECRET_KEY with SECRET_KEY_FALLBACKS keeps users signed in, as in Django.

The pipeline's sign-in (PlatformIdentities) is compared with Django's own
`django.contrib.auth.get_user` on twin sessions: the same user, the same secrets, the same
outcome (signed in or anonymous, the session kept, moved to the new secret, or flushed).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user, login
from django.contrib.sessions.backends.base import SessionBase
from django.test import RequestFactory, override_settings
from starlette.responses import Response

from plugit_proxy.cache import LocMemCache
from plugit_proxy.config import Project
from plugit_proxy.platform.identities import PlatformIdentities
from plugit_proxy.platform.models import User
from plugit_proxy.sessions import Session, SessionManager

OLD = "old-secret-" + "o" * 50
NEW = "new-secret-" + "n" * 50
CACHED_SESSIONS = "django.contrib.sessions.backends.cache"
PROJECT = Project(key="rotation", name="Rotation", mount="/p/rotation/", service_urls=("http://x",))


@pytest.fixture
def user(db: None) -> Iterator[User]:
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[], SESSION_ENGINE=CACHED_SESSIONS):
        yield User.objects.create_user(username="rotating", password="pw-rotating")


def store(key: str | None = None) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(key)  # type: ignore[no-any-return]


def signed_in_session(user: User) -> str:
    """Sign `user` in with Django's own `login`, under the current secret; give the session key."""
    request = RequestFactory().get("/")
    request.session = store()
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session.save()
    return str(request.session.session_key)


def through_django(key: str) -> tuple[bool, SessionBase]:
    request = RequestFactory().get("/")
    request.session = store(key)
    return get_user(request).is_authenticated, request.session


def through_pipeline(key: str) -> tuple[bool, SessionBase]:
    session = Session(store(key), had_cookie=True)
    identities = PlatformIdentities(LocMemCache(f"rotation-{key}", {}))
    identity = async_to_sync(identities.identify)(session, PROJECT)
    return identity.user.is_authenticated, session.store


def outcome(signed_in: bool, session: SessionBase, original: str, user: User) -> dict[str, Any]:
    """What the request leaves: who is signed in, and what became of the session."""
    if session.is_empty():
        kept = "flushed"
    elif session.session_key != original:
        kept = "moved to a new key"
    else:
        kept = "kept"
    return {
        "signed in": signed_in,
        "session": kept,
        "hash is current": session.get(HASH_SESSION_KEY) == user.get_session_auth_hash(),
    }


def compare(user: User, **secrets: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sign in twice under the old secret, then open one session each way under `secrets`."""
    theirs_key, ours_key = signed_in_session(user), signed_in_session(user)
    with override_settings(**secrets):
        theirs = outcome(*through_django(theirs_key), theirs_key, user)
        ours = outcome(*through_pipeline(ours_key), ours_key, user)
    return theirs, ours


def test_the_old_secret_in_the_fallbacks_keeps_users_signed_in(user: User) -> None:
    theirs, ours = compare(user, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    assert (
        theirs
        == ours
        == {"signed in": True, "session": "moved to a new key", "hash is current": True}
    )


def test_without_the_old_secret_the_session_is_flushed(user: User) -> None:
    theirs, ours = compare(user, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[])
    assert theirs == ours == {"signed in": False, "session": "flushed", "hash is current": False}


def test_a_password_change_flushes_the_other_sessions(user: User) -> None:
    theirs_key, ours_key = signed_in_session(user), signed_in_session(user)
    user.set_password("pw-changed")
    user.save()
    theirs = outcome(*through_django(theirs_key), theirs_key, user)
    ours = outcome(*through_pipeline(ours_key), ours_key, user)
    assert theirs == ours == {"signed in": False, "session": "flushed", "hash is current": False}


def test_an_unchanged_secret_keeps_the_session(user: User) -> None:
    theirs, ours = compare(user)
    assert theirs == ours == {"signed in": True, "session": "kept", "hash is current": True}


def test_a_flushed_session_deletes_its_cookie(user: User) -> None:
    key = signed_in_session(user)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        session = Session(store(key), had_cookie=True)
        identities = PlatformIdentities(LocMemCache("rotation-cookie", {}))
        assert not async_to_sync(identities.identify)(session, PROJECT).user.is_authenticated
        response = Response("page")
        async_to_sync(SessionManager.from_settings().save)(session, response)
    assert response.headers["set-cookie"].startswith(f'{settings.SESSION_COOKIE_NAME}="";')
    assert "Max-Age=0" in response.headers["set-cookie"]
