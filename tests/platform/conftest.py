"""Fixtures of the platform tests: Django set up in process, on a throw-away test database.

`db` gives a test the test database (SQLite in memory, migrated once per session) inside a
transaction rolled back at its end. The folder has no `__init__.py` on purpose: a package
named `platform` would shadow the standard library's module.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

os.environ.setdefault("PLUGIT_DATA_DIR", tempfile.mkdtemp(prefix="plugit-platform-tests-"))
os.environ.setdefault("PLUGIT_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plugit_proxy.settings")

import django

django.setup()

import pytest  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test.utils import override_settings, setup_databases, teardown_databases  # noqa: E402

# Hashing with the production hasher costs a good part of a second per password.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_test_database() -> Iterator[None]:
    """Create and migrate the test database once; destroy it at the end of the session."""
    names = setup_databases(verbosity=0, interactive=False)
    yield
    teardown_databases(names, verbosity=0)


@pytest.fixture
def db(django_test_database: None) -> Iterator[None]:
    """The test database, in a transaction rolled back when the test ends."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        yield
        transaction.set_rollback(True)
