"""The hosted platform's data: accounts, organisations, projects, memberships, subscriptions."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS

from ..config import PRODUCTION
from ..versionrouting import check_version_name, parse_rule
from .keys import hash_api_key, new_api_key

# The user fields a project may be granted: the protocol's allow-list, the labels of the
# user's subscriptions to the project, and (outside organisation mode) their organisations.
SUBSCRIPTION_LABELS = "subscription_labels"
ORGAS = "orgas"
GRANTABLE_USER_FIELDS = (*DEFAULT_USER_FIELDS, SUBSCRIPTION_LABELS, ORGAS)


def is_service_url(url: str) -> bool:
    """True for an http(s) URL with a host (any host: `http://polls:8000` is fine)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def validate_service_url(url: str) -> None:
    """Refuse anything but an http(s) base URL."""
    if not is_service_url(url):
        raise ValidationError(f"{url!r} is not an http(s) URL", code="invalid")


def with_trailing_slash(url: str) -> str:
    """A service base URL ends with a slash; the proxy joins action paths to it."""
    return url if url.endswith("/") else url + "/"


def default_user_fields() -> list[str]:
    """What a new project receives unless told otherwise: the protocol's default list."""
    return list(DEFAULT_USER_FIELDS)


class Role(models.TextChoices):
    """A membership's role, in an organisation or a project."""

    MEMBER = "member", "Member"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    """A platform account; services may also find it by `uuid` (docs/protocol.md §6)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Organisation(models.Model):
    """A member organisation, known by its EBU code (`codops`)."""

    codops = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    members: models.ManyToManyField[User, OrganisationMembership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="OrganisationMembership", related_name="organisations"
    )

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.codops})"


class Membership(models.Model):
    """A user's role in a group; a concrete membership adds the group's key, named by `group`."""

    group: ClassVar[str]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user} in {getattr(self, self.group)} ({self.role})"


class OrganisationMembership(Membership):
    """A user's membership of an organisation, as member or administrator."""

    group = "organisation"
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_orga_membership")
        ]


class Visibility(models.TextChoices):
    """Who may open a project's pages at all (each page's own rules apply on top)."""

    PUBLIC = "public", "Public (each page's rules decide)"
    SIGNED_IN = "signed_in", "Signed-in users"
    MEMBERS = "members", "Project members only"


class Layout(models.TextChoices):
    """The page layout a project's pages are rendered in."""

    MENU = "menu", "Bootstrap 5, with side menu"
    PLAIN = "plain", "Bootstrap 5, no side menu"
    LEGACY = "legacy", "Bootstrap 3 and jQuery (services written for the original PlugIt)"


class Project(models.Model):
    """A service (or several instances of one) shown to users under `/p/<slug>/`."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    orga_mode = models.BooleanField(
        "organisation mode",
        default=False,
        help_text="Users act within one of their organisations, chosen in the page header.",
    )
    proxy_mode = models.BooleanField(
        default=False,
        help_text="The service answers whole HTML pages, passed through without a template.",
    )
    menu_action = models.CharField(
        max_length=100,
        blank=True,
        default="menubar",
        help_text="The block of each page's own template shown as its side menu; empty for "
        "no menu.",
    )
    layout = models.CharField(
        max_length=10,
        choices=Layout.choices,
        default=Layout.MENU,
        help_text="The page layout service templates extend as plugIt/base.html; the legacy "
        "one (Bootstrap 3, jQuery) has a side menu too.",
    )
    requires_https = models.BooleanField(
        "requires HTTPS", default=False, help_text="Pages are served over HTTPS only."
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    allowed_organisations = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="joinable_projects",
        help_text="Organisations allowed to join; empty means any organisation.",
    )
    user_fields = models.JSONField(
        default=default_user_fields,
        help_text="User fields the service may receive: any of "
        + ", ".join(GRANTABLE_USER_FIELDS)
        + ".",
    )
    api_key_hash = models.CharField(
        "API key hash",
        max_length=64,
        blank=True,
        editable=False,
        db_index=True,
        help_text="The keyed hash of the API key; the key itself is never stored.",
    )
    shadow_versions = models.JSONField(
        default=list,
        blank=True,
        help_text="Versions never shown to anyone, only sent copies of requests (a list of "
        'names, e.g. ["next"]).',
    )
    members: models.ManyToManyField[User, ProjectMembership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ProjectMembership", related_name="projects"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        fields = self.user_fields
        if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
            raise ValidationError({"user_fields": "Give a list of field names."})
        unknown = sorted(set(fields) - set(GRANTABLE_USER_FIELDS))
        if unknown:
            raise ValidationError(
                {
                    "user_fields": f"Unknown user fields: {', '.join(unknown)}; "
                    f"allowed: {', '.join(GRANTABLE_USER_FIELDS)}."
                }
            )
        shadows = self.shadow_versions
        if not isinstance(shadows, list) or not all(isinstance(name, str) for name in shadows):
            raise ValidationError({"shadow_versions": 'Give a list of version names: ["next"].'})
        for name in shadows:
            validate_version_name(name)

    def set_api_key(self, key: str) -> None:
        """Keep only the key's keyed hash; the key itself is shown once and never stored."""
        self.api_key_hash = hash_api_key(key)

    def rotate_api_key(self) -> str:
        """Give the project a new random key and return it (the caller shows it once)."""
        key = new_api_key()
        self.set_api_key(key)
        return key

    @property
    def has_api_key(self) -> bool:
        """True when the project has a key (services can call its API)."""
        return bool(self.api_key_hash)

    @property
    def service_urls(self) -> list[str]:
        """The base URLs of the project's service instances, in order."""
        return [service.url for service in self.services.all()]


def validate_version_name(name: str) -> None:
    """Refuse a version name the routing rules could not name."""
    if name != PRODUCTION:
        try:
            check_version_name(name, "version")
        except ConfigurationError as error:
            raise ValidationError(str(error), code="invalid") from None


def validate_route_rule(rule: str) -> None:
    """Refuse a rule that is not one of the accepted forms."""
    try:
        parse_rule("version", rule, where="rule")
    except ConfigurationError as error:
        raise ValidationError(str(error), code="invalid") from None


class ProjectService(models.Model):
    """One instance of a project's service; calls are spread over the version's instances."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="services")
    url = models.CharField(
        "base URL",
        max_length=500,
        validators=[validate_service_url],
        help_text="e.g. http://polls:8000/ (a trailing slash is added when missing).",
    )
    version = models.CharField(
        max_length=64,
        default=PRODUCTION,
        blank=True,
        validators=[validate_version_name],
        help_text="production (or empty), or the name of another version of the service (dev, "
        "canary...) that the project's routes send some users to.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["position", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "url"], name="one_url_per_project")
        ]

    def __str__(self) -> str:
        return self.url

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.url = with_trailing_slash(self.url)
        self.version = self.version.strip() or PRODUCTION
        super().save(*args, **kwargs)


class ProjectRoute(models.Model):
    """Who sees a version of the project: the rules are tried in order, first match wins."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="routes")
    version = models.CharField(
        max_length=64,
        validators=[validate_version_name],
        help_text="The version these users see: production, or one named by an instance.",
    )
    rule = models.CharField(
        max_length=1000,
        validators=[validate_route_rule],
        help_text="users:NAME,NAME | orgas:CODOPS,CODOPS | admins | members | percent:N | "
        "opt-in (docs/routing.md).",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.version}={self.rule}"


class ProjectMembership(Membership):
    """A user's membership of a project, as member or administrator."""

    group = "project"
    project = models.ForeignKey(Project, on_delete=models.CASCADE)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "project"], name="one_project_membership")
        ]


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    """Subscriptions, with a filter for those valid now."""

    def valid(self, at: object = None) -> SubscriptionQuerySet:
        """Those whose validity dates include `at` (default: now); open ends always match."""
        moment = at or timezone.now()
        return self.filter(
            models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=moment),
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=moment),
        )


class Subscription(models.Model):
    """A label a user holds for a project (e.g. a paid plan), valid between two dates."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="subscriptions")
    label = models.CharField(max_length=100)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["label"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["user", "project", "label"], name="one_subscription_per_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} of {self.user} for {self.project}"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise ValidationError({"valid_until": "Must be later than the start of validity."})


class ProjectVisit(models.Model):
    """A user who opened a page of a project: besides its members, whom its API may read."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="visits")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_visits"
    )
    first_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "user"], name="one_visit_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} visited {self.project}"
