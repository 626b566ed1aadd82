"""The platform's data model: validation, service URLs, API keys, subscriptions' validity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from plugit_proxy.platform.keys import key_matches
from plugit_proxy.platform.models import (
    GRANTABLE_USER_FIELDS,
    Organisation,
    OrganisationMembership,
    Project,
    ProjectMembership,
    ProjectService,
    Role,
    Subscription,
    User,
    is_service_url,
)

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def project() -> Project:
    return Project.objects.create(slug="polls", name="Polls")


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", "alice@example.org", "pw")


def test_grantable_fields_extend_the_protocol_list_with_labels_and_orgas() -> None:
    assert GRANTABLE_USER_FIELDS[-2:] == ("subscription_labels", "orgas")
    assert "password" not in GRANTABLE_USER_FIELDS


def test_a_new_project_gets_the_default_fields_and_no_key(project: Project) -> None:
    assert project.user_fields == list(GRANTABLE_USER_FIELDS[:-2])
    assert not project.has_api_key
    project.full_clean()


@pytest.mark.parametrize(
    ("fields", "message"),
    [(["username", "password"], "Unknown user fields: password;"), ("email", "list")],
)
def test_clean_refuses_user_fields_outside_the_allow_list(
    project: Project, fields: object, message: str
) -> None:
    project.user_fields = fields
    with pytest.raises(ValidationError, match=message):
        project.full_clean()


def test_rotating_the_key_keeps_only_a_hash_of_a_new_key(project: Project) -> None:
    first = project.rotate_api_key()
    first_hash = project.api_key_hash
    second = project.rotate_api_key()
    assert first != second
    assert project.api_key_hash != first_hash
    assert first not in project.api_key_hash
    assert key_matches(second, project.api_key_hash)
    assert not key_matches(first, project.api_key_hash)
    assert project.has_api_key


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://polls:8000", True),
        ("https://polls.example.org/base/", True),
        ("http://127.0.0.1:5000/", True),
        ("ftp://polls", False),
        ("polls:8000", False),
        ("http://", False),
        ("http://[::1", False),
    ],
)
def test_service_urls_are_http_urls_with_a_host(url: str, ok: bool) -> None:
    assert is_service_url(url) is ok


def test_a_service_url_is_stored_with_its_trailing_slash(project: Project) -> None:
    service = ProjectService.objects.create(project=project, url="http://polls:8000")
    service.refresh_from_db()
    assert service.url == "http://polls:8000/"
    assert project.service_urls == ["http://polls:8000/"]


def test_a_bad_service_url_fails_validation(project: Project) -> None:
    with pytest.raises(ValidationError, match="not an http"):
        ProjectService(project=project, url="ftp://x").full_clean()


def test_one_membership_per_user_and_organisation(alice: User) -> None:
    rts = Organisation.objects.create(codops="chrts", name="RTS")
    OrganisationMembership.objects.create(user=alice, organisation=rts, role=Role.ADMIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationMembership.objects.create(user=alice, organisation=rts)
    assert list(rts.members.all()) == [alice]
    assert str(rts) == "RTS (chrts)"


def test_one_membership_per_user_and_project(alice: User, project: Project) -> None:
    ProjectMembership.objects.create(user=alice, project=project)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProjectMembership.objects.create(user=alice, project=project, role=Role.ADMIN)
    assert list(alice.projects.all()) == [project]  # type: ignore[attr-defined]


def test_valid_subscriptions_are_those_whose_dates_include_now(
    alice: User, project: Project
) -> None:
    now = timezone.now()
    day = dt.timedelta(days=1)
    for label, start, end in [
        ("open", None, None),
        ("current", now - day, now + day),
        ("expired", now - 2 * day, now - day),
        ("upcoming", now + day, None),
    ]:
        Subscription.objects.create(
            user=alice, project=project, label=label, valid_from=start, valid_until=end
        )
    valid = Subscription.objects.valid().values_list("label", flat=True)
    assert sorted(valid) == ["current", "open"]
    later = Subscription.objects.valid(now + 2 * day).values_list("label", flat=True)
    assert sorted(later) == ["open", "upcoming"]


def test_a_subscription_ends_after_it_starts(alice: User, project: Project) -> None:
    now = timezone.now()
    backwards = Subscription(
        user=alice, project=project, label="pro", valid_from=now, valid_until=now
    )
    with pytest.raises(ValidationError, match="later than"):
        backwards.full_clean()


def test_every_user_has_a_distinct_uuid(alice: User) -> None:
    bob = User.objects.create_user("bob")
    assert alice.uuid != bob.uuid
    assert User.objects.get(uuid=bob.uuid) == bob
