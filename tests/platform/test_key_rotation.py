"""API keys hashed under a secret work while it is in SECRET_KEY_FALLBACKS, and end after.

Checked with `authorised`, the check the ASGI application runs before Django sees the call.
"""

from __future__ import annotations

from django.test import override_settings

from plugit_proxy.api.auth import authorised
from plugit_proxy.config import Project
from plugit_proxy.platform.keys import new_api_key
from plugit_proxy.platform.models import Project as ProjectRow

OLD = "old-secret-" + "o" * 50
NEW = "new-secret-" + "n" * 50


def keyed_project(key: str) -> Project:
    """The proxy's view of a project whose key was set under the current secret."""
    row = ProjectRow(slug="keyed", name="Keyed")
    row.set_api_key(key)
    return Project(
        key="keyed",
        name="Keyed",
        mount="/p/keyed/",
        service_urls=("http://x",),
        api_key_hash=row.api_key_hash,
    )


def test_api_keys_survive_a_rotation_while_the_old_secret_is_a_fallback(db: None) -> None:
    key = new_api_key()
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        project = keyed_project(key)
        assert authorised(project, key)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert authorised(project, key)
        assert not authorised(project, new_api_key())
        assert not authorised(project, "")
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert not authorised(project, key)  # the old secret retired: its keys end


def test_keys_set_after_the_rotation_use_the_new_secret(db: None) -> None:
    key = new_api_key()
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        project = keyed_project(key)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert authorised(project, key)
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        assert not authorised(project, key)
