"""The platform file (`platform.toml`): read, checked whole, and turned into typed records.

Nothing here touches the database: a file is either valid as a whole (a `PlatformFile`) or
rejected with every problem found (`PlatformFileError`), each naming the file, the entry (by
its codops, username or slug) and the field. Secrets named by `password_env` and
`api_key_env` are read from the environment here too, so a missing variable is a file error.
The choices (roles, layouts, grantable user fields) come from the models, so Django must be
set up before `read_platform_file` is called.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from plugit.exceptions import ConfigurationError

from ..config import PRODUCTION, normalise_service_url
from ..versionrouting import check_version_name, parse_route
from .models import GRANTABLE_USER_FIELDS, Layout, Role, Visibility, is_service_url

__all__ = [
    "OrganisationEntry",
    "PlatformFile",
    "PlatformFileError",
    "ProjectEntry",
    "SubscriptionEntry",
    "UserEntry",
    "read_platform_file",
]

MIN_API_KEY_LENGTH = 20
_USERNAME = re.compile(r"^[\w.@+-]+\Z")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")

T = TypeVar("T")


class PlatformFileError(ConfigurationError):
    """The platform file cannot be applied; `problems` lists every reason, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, kw_only=True)
class OrganisationEntry:
    """An `[[organisations]]` entry."""

    codops: str
    name: str


@dataclass(frozen=True, kw_only=True)
class UserEntry:
    """A `[[users]]` entry; `None` means the file leaves that attribute alone."""

    username: str
    email: str
    password_env: str | None = None
    password: str | None = field(default=None, repr=False)
    superuser: bool | None = None
    staff: bool | None = None
    active: bool | None = None
    first_name: str | None = None
    last_name: str | None = None
    organisations: Mapping[str, str] | None = None  # codops -> role


@dataclass(frozen=True, kw_only=True)
class SubscriptionEntry:
    """One label a user holds for a project, with optional validity dates."""

    label: str
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectEntry:
    """A `[[projects]]` entry; `None` means the file leaves that attribute alone."""

    slug: str
    name: str
    services: tuple[str, ...]
    orga_mode: bool | None = None
    proxy_mode: bool | None = None
    menu_action: str | None = None
    layout: str | None = None
    visibility: str | None = None
    requires_https: bool | None = None
    allowed_organisations: tuple[str, ...] | None = None
    user_fields: tuple[str, ...] | None = None
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    members: Mapping[str, str] | None = None  # username -> role
    subscriptions: Mapping[str, tuple[SubscriptionEntry, ...]] | None = None
    versions: Mapping[str, tuple[str, ...]] | None = None  # name -> instances
    routes: tuple[tuple[str, str], ...] | None = None  # (version, rule), first match wins
    shadow: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class PlatformFile:
    """A whole, valid platform file."""

    path: Path
    organisations: tuple[OrganisationEntry, ...] = ()
    users: tuple[UserEntry, ...] = ()
    projects: tuple[ProjectEntry, ...] = ()


def read_platform_file(path: Path, environ: Mapping[str, str] | None = None) -> PlatformFile:
    """Read and check the file at `path`; raise `PlatformFileError` listing every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlatformFileError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlatformFileError([f"{path}: cannot be read: {error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise PlatformFileError([f"{path}: not valid TOML: {error}"]) from None
    checker = _Checker(path, os.environ if environ is None else environ)
    platform = checker.platform(data)
    if checker.problems:
        raise PlatformFileError(checker.problems)
    return platform


def _key(name: str) -> str:
    """Spell a table key as TOML would: bare when it can be, quoted otherwise."""
    return name if _BARE_KEY.match(name) else '"' + name.replace('"', '\\"') + '"'


class _Checker:
    """Walks the parsed TOML, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.path}: {where}: {message}")

    # -- the file and its three lists --------------------------------------------------------

    def platform(self, data: dict[str, Any]) -> PlatformFile:
        self.unknown_keys("the file", data, {"organisations", "users", "projects"})
        # References are checked against every name given, even in an entry with other
        # problems, so one mistake is reported once and not again at each reference.
        codops = _names(data, "organisations", "codops")
        usernames = _names(data, "users", "username")
        organisations = self.entries(data, "organisations", "codops", self.organisation)
        users = self.entries(data, "users", "username", lambda w, t: self.user(w, t, codops))
        self.unique_emails(users)
        projects = self.entries(
            data, "projects", "slug", lambda w, t: self.project(w, t, codops, usernames)
        )
        return PlatformFile(
            path=self.path,
            organisations=tuple(organisations),
            users=tuple(users),
            projects=tuple(projects),
        )

    def entries(
        self,
        data: dict[str, Any],
        kind: str,
        key: str,
        build: Callable[[str, dict[str, Any]], T | None],
    ) -> list[T]:
        """Check each table of `[[kind]]`, named in messages by its `key` when it has one."""
        tables = data.get(kind, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            self.problem(kind, f"must be an array of tables ([[{kind}]])")
            return []
        built: list[T] = []
        seen: set[str] = set()
        for index, table in enumerate(tables):
            name = table.get(key)
            if not isinstance(name, str) or not name:
                where = f"{kind}[{index}]"
            elif name in seen:
                self.problem(f'{kind}[{key}="{name}"]', f"the {key} {name!r} is used twice")
                continue
            else:
                where = f'{kind}[{key}="{name}"]'
                seen.add(name)
            entry = build(where, table)
            if entry is not None:
                built.append(entry)
        return built

    # -- entries ---------------------------------------------------------------------------

    def organisation(self, where: str, table: dict[str, Any]) -> OrganisationEntry | None:
        self.unknown_keys(where, table, {"codops", "name"})
        codops = self.text(where, table, "codops", required=True, max_length=32)
        name = self.text(where, table, "name", required=True, max_length=200)
        if codops is None or name is None:
            return None
        return OrganisationEntry(codops=codops, name=name)

    def user(self, where: str, table: dict[str, Any], codops: set[str]) -> UserEntry | None:
        self.unknown_keys(where, table, set(_USER_KEYS))
        username = self.text(where, table, "username", required=True, max_length=150)
        if username is not None and not _USERNAME.match(username):
            self.problem(f"{where}.username", "may hold only letters, digits and @ . + - _")
        email = self.email(where, table)
        password_env, password = self.secret(where, table, "password_env")
        superuser = self.flag(where, table, "superuser")
        staff = self.flag(where, table, "staff")
        if superuser is True and staff is False:
            self.problem(f"{where}.staff", "a superuser is always staff; drop `staff = false`")
        organisations = self.roles(where, table, "organisations", codops, "organisation")
        entry = UserEntry(
            username=username or "",
            email=email or "",
            password_env=password_env,
            password=password,
            superuser=superuser,
            staff=staff,
            active=self.flag(where, table, "active"),
            first_name=self.text(where, table, "first_name", max_length=150),
            last_name=self.text(where, table, "last_name", max_length=150),
            organisations=organisations,
        )
        return entry if username and email else None

    def project(
        self, where: str, table: dict[str, Any], codops: set[str], usernames: set[str]
    ) -> ProjectEntry | None:
        self.unknown_keys(where, table, set(_PROJECT_KEYS))
        slug = self.text(where, table, "slug", required=True, max_length=64)
        if slug is not None and not _SLUG.match(slug):
            self.problem(f"{where}.slug", "may hold only letters, digits, - and _")
        name = self.text(where, table, "name", required=True, max_length=200)
        services = self.services(where, table)
        api_key_env, api_key = self.secret(where, table, "api_key_env")
        if api_key is not None and len(api_key) < MIN_API_KEY_LENGTH:
            self.problem(
                f"{where}.api_key_env",
                f"the key in ${api_key_env} is shorter than {MIN_API_KEY_LENGTH} characters",
            )
        entry = ProjectEntry(
            slug=slug or "",
            name=name or "",
            services=services,
            orga_mode=self.flag(where, table, "orga_mode"),
            proxy_mode=self.flag(where, table, "proxy_mode"),
            menu_action=self.text(where, table, "menu_action", max_length=100),
            layout=self.choice(where, table, "layout", Layout.values),
            visibility=self.choice(where, table, "visibility", Visibility.values),
            requires_https=self.flag(where, table, "requires_https"),
            allowed_organisations=self.references(
                where, table, "allowed_organisations", codops, "organisation"
            ),
            user_fields=self.user_fields(where, table),
            api_key_env=api_key_env,
            api_key=api_key,
            members=self.roles(where, table, "members", usernames, "user"),
            subscriptions=self.subscriptions(where, table, usernames),
            **self.routing(where, table, services),
        )
        return entry if slug and name and services else None

    def unique_emails(self, users: list[UserEntry]) -> None:
        """Refuse two users with one address: accounts log in by e-mail too."""
        owners: dict[str, str] = {}
        for user in users:
            owner = owners.setdefault(user.email.lower(), user.username)
            if owner != user.username:
                self.problem(
                    f'users[username="{user.username}"].email',
                    f"{user.email!r} is already the address of user {owner!r}",
                )

    # -- fields ----------------------------------------------------------------------------

    def unknown_keys(self, where: str, table: dict[str, Any], known: set[str]) -> None:
        for name in table:
            if name not in known:
                self.problem(
                    where, f"unknown key {_key(name)!r} (known: {', '.join(sorted(known))})"
                )

    def text(
        self,
        where: str,
        table: dict[str, Any],
        name: str,
        *,
        required: bool = False,
        max_length: int,
    ) -> str | None:
        value = table.get(name)
        if value is None:
            if required:
                self.problem(where, f"{name} is missing")
            return None
        if not isinstance(value, str):
            self.problem(f"{where}.{name}", f"must be a string, not {_type(value)}")
            return None
        if required and not value.strip():
            self.problem(f"{where}.{name}", "must not be empty")
            return None
        if len(value) > max_length:
            self.problem(f"{where}.{name}", f"is longer than {max_length} characters")
            return None
        return value

    def flag(self, where: str, table: dict[str, Any], name: str) -> bool | None:
        value = table.get(name)
        if value is not None and not isinstance(value, bool):
            self.problem(f"{where}.{name}", f"must be true or false, not {value!r}")
            return None
        return value

    def choice(
        self, where: str, table: dict[str, Any], name: str, choices: list[str]
    ) -> str | None:
        value = table.get(name)
        if value is not None and value not in choices:
            self.problem(f"{where}.{name}", f"{value!r} is not one of {', '.join(choices)}")
            return None
        return value

    def email(self, where: str, table: dict[str, Any]) -> str | None:
        email = self.text(where, table, "email", required=True, max_length=254)
        if email is None:
            return None
        try:
            validate_email(email)
        except ValidationError:
            self.problem(f"{where}.email", f"{email!r} is not an e-mail address")
            return None
        return email

    def secret(self, where: str, table: dict[str, Any], name: str) -> tuple[str | None, str | None]:
        """Read the environment variable named by `table[name]`: (its name, its value)."""
        variable = table.get(name)
        if variable is None:
            return None, None
        if not isinstance(variable, str) or not _ENV_NAME.match(variable):
            self.problem(f"{where}.{name}", f"{variable!r} is not an environment variable name")
            return None, None
        value = self.environ.get(variable)
        if not value:
            state = "is empty" if value == "" else "is not set"
            self.problem(f"{where}.{name}", f"the environment variable {variable} {state}")
            return variable, None
        return variable, value

    def services(self, where: str, table: dict[str, Any], key: str = "services") -> tuple[str, ...]:
        urls = table.get(key)
        if urls is None:
            self.problem(where, f"{key} is missing (the base URLs of the service)")
            return ()
        if not isinstance(urls, list) or not urls:
            self.problem(f"{where}.{key}", "must be a non-empty array of URLs")
            return ()
        checked: list[str] = []
        for index, url in enumerate(urls):
            spot = f"{where}.{key}[{index}]"
            if not isinstance(url, str) or not is_service_url(url):
                self.problem(spot, f"{url!r} is not an http(s) URL")
            elif len(url) > 500:
                self.problem(spot, "is longer than 500 characters")
            elif normalise_service_url(url) in checked:
                self.problem(spot, f"{url!r} is listed twice")
            else:
                checked.append(normalise_service_url(url))
        return tuple(checked) if len(checked) == len(urls) else ()

    def routing(
        self, where: str, table: dict[str, Any], services: tuple[str, ...]
    ) -> dict[str, Any]:
        """A project's `versions`, `routes` and `shadow` (docs/routing.md)."""
        versions = self.versions(where, table, services)
        shadow = self.names(where, table, "shadow")
        known = set(versions or ())
        for name in shadow or ():
            if name not in known:
                self.problem(f"{where}.shadow", f"no version {name!r} in this project's versions")
        shown = {PRODUCTION} | (known - set(shadow or ()))
        routes = self.routes(where, table)
        for index, (version, _) in enumerate(routes or ()):
            if version not in shown:
                why = "is a shadow version" if version in known else "has no instances here"
                self.problem(f"{where}.routes[{index}]", f"the version {version!r} {why}")
        return {"versions": versions, "routes": routes, "shadow": shadow}

    def versions(
        self, where: str, table: dict[str, Any], services: tuple[str, ...]
    ) -> dict[str, tuple[str, ...]] | None:
        values = table.get("versions")
        if values is None:
            return None
        if not isinstance(values, dict):
            self.problem(f"{where}.versions", 'must be a table like { dev = ["http://..."] }')
            return None
        found: dict[str, tuple[str, ...]] = {}
        seen = set(services)
        for name in values:
            spot = f"{where}.versions.{_key(name)}"
            try:
                check_version_name(name, spot)
            except ConfigurationError as error:
                self.problems.append(f"{self.path}: {error}")
                continue
            checked = self.services(f"{where}.versions", values, name)
            if not checked:
                continue
            for url in set(checked) & seen:
                self.problem(spot, f"{url!r} is already an instance of another version")
            seen |= set(checked)
            found[name] = checked
        return found

    def routes(self, where: str, table: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
        values = table.get("routes")
        if values is None:
            return None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.problem(f"{where}.routes", 'must be an array like ["dev=users:alice"]')
            return None
        found = []
        for index, text in enumerate(values):
            spot = f"{where}.routes[{index}]"
            try:
                rule = parse_route(text, where=spot)
            except ConfigurationError as error:
                self.problems.append(f"{self.path}: {error}")
                continue
            found.append((rule.version, text.partition("=")[2].strip()))
        return tuple(found)

    def names(self, where: str, table: dict[str, Any], name: str) -> tuple[str, ...] | None:
        values = table.get(name)
        if values is None:
            return None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.problem(f"{where}.{name}", "must be an array of version names")
            return None
        return tuple(dict.fromkeys(values))

    def user_fields(self, where: str, table: dict[str, Any]) -> tuple[str, ...] | None:
        names = table.get("user_fields")
        if names is None:
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.problem(f"{where}.user_fields", "must be an array of field names")
            return None
        unknown = [n for n in names if n not in GRANTABLE_USER_FIELDS]
        if unknown:
            self.problem(
                f"{where}.user_fields",
                f"unknown fields {', '.join(map(repr, unknown))} "
                f"(allowed: {', '.join(GRANTABLE_USER_FIELDS)})",
            )
            return None
        return tuple(dict.fromkeys(names))

    def references(
        self, where: str, table: dict[str, Any], name: str, known: set[str], kind: str
    ) -> tuple[str, ...] | None:
        values = table.get(name)
        if values is None:
            return None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.problem(f"{where}.{name}", "must be an array of codops")
            return None
        for index, value in enumerate(values):
            if value not in known:
                self.problem(f"{where}.{name}[{index}]", _unknown(kind, value))
        return tuple(dict.fromkeys(values))

    def roles(
        self, where: str, table: dict[str, Any], name: str, known: set[str], kind: str
    ) -> dict[str, str] | None:
        """A table `{name = "member" | "admin"}` whose names are defined in the file."""
        values = table.get(name)
        if values is None:
            return None
        if not isinstance(values, dict):
            self.problem(f"{where}.{name}", f'must be a table like {{ name = "{Role.MEMBER}" }}')
            return None
        for key, role in values.items():
            spot = f"{where}.{name}.{_key(key)}"
            if key not in known:
                self.problem(spot, _unknown(kind, key))
            if role not in Role.values:
                self.problem(spot, f"{role!r} is not a role: use {' or '.join(Role.values)}")
        return dict(values)

    def subscriptions(
        self, where: str, table: dict[str, Any], usernames: set[str]
    ) -> dict[str, tuple[SubscriptionEntry, ...]] | None:
        values = table.get("subscriptions")
        if values is None:
            return None
        if not isinstance(values, dict):
            self.problem(f"{where}.subscriptions", 'must be a table like { alice = ["pro"] }')
            return None
        checked: dict[str, tuple[SubscriptionEntry, ...]] = {}
        for username, labels in values.items():
            spot = f"{where}.subscriptions.{_key(username)}"
            if username not in usernames:
                self.problem(spot, _unknown("user", username))
            if not isinstance(labels, list):
                self.problem(spot, "must be an array of labels")
                continue
            entries = [self.subscription(f"{spot}[{i}]", item) for i, item in enumerate(labels)]
            seen = [e.label for e in entries if e is not None]
            for label in {label for label in seen if seen.count(label) > 1}:
                self.problem(spot, f"the label {label!r} is listed twice")
            checked[username] = tuple(e for e in entries if e is not None)
        return checked

    def subscription(self, spot: str, item: object) -> SubscriptionEntry | None:
        """A label: `"pro"` or `{ label = "pro", valid_from = ..., valid_until = ... }`."""
        if isinstance(item, str):
            item = {"label": item}
        if not isinstance(item, dict):
            self.problem(spot, f"must be a label or a table with a label, not {_type(item)}")
            return None
        self.unknown_keys(spot, item, {"label", "valid_from", "valid_until"})
        label = self.text(spot, item, "label", required=True, max_length=100)
        start = self.moment(spot, item, "valid_from")
        end = self.moment(spot, item, "valid_until")
        if start and end and start >= end:
            self.problem(f"{spot}.valid_until", "must be later than valid_from")
            return None
        return SubscriptionEntry(label=label, valid_from=start, valid_until=end) if label else None

    def moment(self, where: str, table: dict[str, Any], name: str) -> dt.datetime | None:
        """A TOML date or date-time; without an offset it is read in the platform time zone."""
        value = table.get(name)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value if timezone.is_aware(value) else timezone.make_aware(value)
        if isinstance(value, dt.date):
            return timezone.make_aware(dt.datetime.combine(value, dt.time()))
        self.problem(f"{where}.{name}", f"must be a TOML date or date-time, not {value!r}")
        return None


_USER_KEYS = (
    "username",
    "email",
    "password_env",
    "superuser",
    "staff",
    "active",
    "first_name",
    "last_name",
    "organisations",
)
_PROJECT_KEYS = (
    "slug",
    "name",
    "services",
    "orga_mode",
    "proxy_mode",
    "menu_action",
    "layout",
    "visibility",
    "requires_https",
    "allowed_organisations",
    "user_fields",
    "api_key_env",
    "members",
    "subscriptions",
    "versions",
    "routes",
    "shadow",
)


def _names(data: dict[str, Any], kind: str, key: str) -> set[str]:
    tables = data.get(kind)
    if not isinstance(tables, list):
        return set()
    return {t[key] for t in tables if isinstance(t, dict) and isinstance(t.get(key), str)}


def _unknown(kind: str, name: str) -> str:
    listing = "[[organisations]]" if kind == "organisation" else "[[users]]"
    return f"no {kind} {name!r} in this file (add it to {listing})"


def _type(value: object) -> str:
    return type(value).__name__
