"""The operators' admin: every page loads; API keys are shown once, and only as keys."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import path, reverse
from django.utils import timezone

from plugit_proxy.platform.keys import key_matches
from plugit_proxy.platform.models import (
    Organisation,
    OrganisationMembership,
    Project,
    ProjectMembership,
    ProjectService,
    Subscription,
    User,
)

KEY_MESSAGE = re.compile(r"New API key for project “([-\w]+)”: <code>([-\w]+)</code>")


class AdminURLs:
    """Only the admin: the platform's own URLs depend on the mode the settings were read in."""

    urlpatterns = [path("admin/", admin.site.urls)]


@pytest.fixture
def operator(db: None) -> Iterator[Client]:
    """A client signed in as a superuser."""
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(root)
    with override_settings(ROOT_URLCONF=AdminURLs):
        yield client


@pytest.fixture
def polls(db: None) -> Project:
    """A project with one of everything around it."""
    alice = User.objects.create_user("alice", "alice@example.org")
    rts = Organisation.objects.create(codops="chrts", name="RTS")
    project = Project.objects.create(slug="polls", name="Polls")
    project.rotate_api_key()
    project.save()
    project.allowed_organisations.add(rts)
    ProjectService.objects.create(project=project, url="http://polls:8000/")
    ProjectMembership.objects.create(project=project, user=alice)
    OrganisationMembership.objects.create(organisation=rts, user=alice)
    now = timezone.now()
    Subscription.objects.create(
        project=project, user=alice, label="pro", valid_until=now + dt.timedelta(days=1)
    )
    Subscription.objects.create(
        project=project, user=alice, label="old", valid_until=now - dt.timedelta(days=1)
    )
    return project


def shown_keys(html: str) -> dict[str, str]:
    return dict(KEY_MESSAGE.findall(html))


def assert_shown_only_on_the_page(answer: Any, key: str) -> None:
    """A new key is on the answer's page only: in no cookie (no message), in no cache."""
    assert answer.status_code == 200  # not a redirect to a page showing a message
    assert "no-store" in answer["Cache-Control"]
    assert all(key not in morsel.value for morsel in answer.cookies.values()), answer.cookies


MODELS = [
    "user",
    "organisation",
    "organisationmembership",
    "project",
    "projectmembership",
    "subscription",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_list_add_and_change_page_loads(operator: Client, polls: Project, model: str) -> None:
    listing = operator.get(reverse(f"admin:platform_{model}_changelist"))
    assert listing.status_code == 200
    assert operator.get(reverse(f"admin:platform_{model}_add")).status_code == 200
    first = {
        "user": User,
        "organisation": Organisation,
        "organisationmembership": OrganisationMembership,
        "project": Project,
        "projectmembership": ProjectMembership,
        "subscription": Subscription,
    }[model]._default_manager.first()
    assert first is not None
    change = operator.get(reverse(f"admin:platform_{model}_change", args=[first.pk]))
    assert change.status_code == 200


def test_the_user_page_edits_memberships_in_place(operator: Client, polls: Project) -> None:
    alice = User.objects.get(username="alice")
    page = operator.get(reverse("admin:platform_user_change", args=[alice.pk])).content.decode()
    assert str(alice.uuid) in page
    assert "organisationmembership_set-TOTAL_FORMS" in page
    assert "projectmembership_set-TOTAL_FORMS" in page


@pytest.mark.parametrize(
    ("query", "labels"),
    [("validity=valid", ["pro"]), ("validity=expired", ["old"]), ("label=pro", ["pro"])],
)
def test_subscriptions_filter_by_validity_and_label(
    operator: Client, polls: Project, query: str, labels: list[str]
) -> None:
    url = reverse("admin:platform_subscription_changelist") + "?" + query
    page = operator.get(url)
    assert page.status_code == 200
    assert [s.label for s in page.context_data["cl"].result_list] == labels
    by_project = operator.get(
        f"{reverse('admin:platform_subscription_changelist')}?project__id__exact={polls.pk}"
    )
    assert by_project.status_code == 200


def test_the_project_page_never_shows_the_hash(operator: Client, polls: Project) -> None:
    page = operator.get(reverse("admin:platform_project_change", args=[polls.pk]))
    html = page.content.decode()
    assert polls.api_key_hash not in html
    assert "filter_horizontal" not in html or "allowed_organisations" in html
    for prefix in ("services", "projectmembership_set", "subscriptions"):
        assert f"{prefix}-TOTAL_FORMS" in html
    listing = operator.get(reverse("admin:platform_project_changelist")).content.decode()
    assert polls.api_key_hash not in listing


def project_form(**values: Any) -> dict[str, Any]:
    """The add/change form of a project, with one service instance and empty inlines."""
    data: dict[str, Any] = {
        "name": "Quiz",
        "slug": "quiz",
        "visibility": "public",
        "layout": "menu",
        "menu_action": "menubar",
        "user_fields": ["username", "subscription_labels"],
        "services-TOTAL_FORMS": "1",
        "services-INITIAL_FORMS": "0",
        "services-0-url": "http://quiz:8000",
        "services-0-position": "0",
    }
    for prefix in ("routes", "projectmembership_set", "subscriptions"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(values)
    return data


def test_a_project_added_in_the_admin_shows_its_key_once(operator: Client, db: None) -> None:
    added = operator.post(reverse("admin:platform_project_add"), project_form())
    keys = shown_keys(added.content.decode())
    assert list(keys) == ["quiz"]
    assert_shown_only_on_the_page(added, keys["quiz"])
    quiz = Project.objects.get(slug="quiz")
    assert key_matches(keys["quiz"], quiz.api_key_hash)
    assert quiz.user_fields == ["username", "subscription_labels"]
    assert quiz.service_urls == ["http://quiz:8000/"]
    again = operator.get(reverse("admin:platform_project_changelist"))
    assert shown_keys(again.content.decode()) == {}


def test_editing_a_project_keeps_its_key(operator: Client, polls: Project) -> None:
    stored = polls.api_key_hash
    form = project_form(
        name="Polls",
        slug="polls",
        **{
            "services-INITIAL_FORMS": "1",
            "services-0-id": str(polls.services.get().pk),
            "services-0-project": str(polls.pk),
            "services-0-url": "http://polls:8000/",
        },
    )
    answer = operator.post(reverse("admin:platform_project_change", args=[polls.pk]), form)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    polls.refresh_from_db()
    assert polls.api_key_hash == stored
    assert (
        shown_keys(operator.get(reverse("admin:platform_project_changelist")).content.decode())
        == {}
    )


def test_user_fields_outside_the_allow_list_are_refused(operator: Client, db: None) -> None:
    answer = operator.post(
        reverse("admin:platform_project_add"), project_form(user_fields=["username", "password"])
    )
    assert answer.status_code == 200
    assert "password is not one of the available choices" in answer.content.decode()
    assert not Project.objects.filter(slug="quiz").exists()


def test_a_bad_service_url_is_refused(operator: Client, db: None) -> None:
    answer = operator.post(
        reverse("admin:platform_project_add"), project_form(**{"services-0-url": "ftp://quiz"})
    )
    assert answer.status_code == 200
    assert "is not an http(s) URL" in answer.content.decode()
    assert not Project.objects.exists()


def test_rotating_the_key_shows_the_new_key_once_and_changes_the_hash(
    operator: Client, polls: Project
) -> None:
    old_hash = polls.api_key_hash
    answer = operator.post(
        reverse("admin:platform_project_changelist"),
        {"action": "rotate_api_key", "_selected_action": [str(polls.pk)]},
    )
    keys = shown_keys(answer.content.decode())
    assert list(keys) == ["polls"]
    assert_shown_only_on_the_page(answer, keys["polls"])
    polls.refresh_from_db()
    assert polls.api_key_hash != old_hash
    assert key_matches(keys["polls"], polls.api_key_hash)
    assert keys["polls"] not in polls.api_key_hash

    again = operator.get(reverse("admin:platform_project_changelist"))
    assert keys["polls"] not in again.content.decode()


def test_users_and_organisations_are_added_with_memberships(operator: Client, db: None) -> None:
    added = operator.post(
        reverse("admin:platform_user_add"),
        {
            "username": "dave",
            "usable_password": "false",
            "password1": "",
            "password2": "",
            **{
                f"{prefix}-{count}_FORMS": "0"
                for prefix in ("organisationmembership_set", "projectmembership_set")
                for count in ("TOTAL", "INITIAL")
            },
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    dave = User.objects.get(username="dave")
    assert not dave.has_usable_password()

    form = {
        "codops": "chrts",
        "name": "RTS",
        "organisationmembership_set-TOTAL_FORMS": "1",
        "organisationmembership_set-INITIAL_FORMS": "0",
        "organisationmembership_set-0-user": str(dave.pk),
        "organisationmembership_set-0-role": "admin",
    }
    answer = operator.post(reverse("admin:platform_organisation_add"), form)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert list(OrganisationMembership.objects.values_list("user__username", "role")) == [
        ("dave", "admin")
    ]
