"""Who sees which version of a project: the routing rules, read from text and evaluated.

A project has its production version (`Project.service_urls`) and any number of named
versions (`dev`, `canary`...). Its rules are tried in order for every request, from the
signed-in identity; the first that matches names the version, and none matching means
production. Rules are spelled `NAME=RULE` on the command line, RULE being one of:

    users:alice,bob     these users (by username)
    orgas:chrts,gbbbc   members of these organisations (by codops)
    admins              the project's administrators
    members             the project's members (administrators included)
    percent:N           N % of users (0 to 100), sticky: a user always lands on the same side
    opt-in              members who switched the version on in the page header's user menu

`percent` splits anonymous visitors too, sticky per browser (a random id in their session);
every other rule matches signed-in users only. Nothing here keeps state: the choice is a
function of the project, the identity and two values from the session.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugit.exceptions import ConfigurationError

from .config import PRODUCTION, Project, RouteRule, ServiceVersion, normalise_service_url

if TYPE_CHECKING:  # the configuration reads rules before Django (and identities) are set up
    from .identity import Identity

__all__ = [
    "OPT_IN",
    "OPT_IN_SESSION_KEY",
    "PERCENT",
    "RULE_FORMS",
    "VISITOR_SESSION_KEY",
    "VersionChoice",
    "choose_version",
    "may_opt_in",
    "parse_route",
    "parse_rule",
    "parse_version_url",
    "percent_position",
    "versions_from_pairs",
]

USERS, ORGAS, ADMINS, MEMBERS, PERCENT, OPT_IN = (
    "users",
    "orgas",
    "admins",
    "members",
    "percent",
    "opt-in",
)
KINDS = (USERS, ORGAS, ADMINS, MEMBERS, PERCENT, OPT_IN)
_LISTS = frozenset({USERS, ORGAS})
RULE_FORMS = "users:NAME,NAME | orgas:CODOPS,CODOPS | admins | members | percent:N | opt-in"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")

# Session keys: the version each project's user opted in to ({project key: version}), and an
# anonymous visitor's random id (what `percent` splits them by).
OPT_IN_SESSION_KEY = "plugit_version_opt_in"
VISITOR_SESSION_KEY = "plugit_visitor"


# -- reading rules ---------------------------------------------------------------------------
def check_version_name(name: str, where: str) -> str:
    """Refuse a version name that is empty, odd, or `production` (the --service instances)."""
    if name == PRODUCTION:
        raise ConfigurationError(
            f"{where}: {PRODUCTION!r} is the project's own version: give its instances with "
            "--service (PLUGIT_SERVICE_URL) and name the others (e.g. dev=http://...)"
        )
    if not _VERSION_NAME.match(name):
        raise ConfigurationError(
            f"{where}: {name!r} is not a version name: use letters, digits, '.', '-' and '_' "
            "(e.g. dev, canary, next)"
        )
    return name


def parse_rule(version: str, text: str, *, where: str) -> RouteRule:
    """Read one RULE (`users:a,b`, `percent:30`, `opt-in`...) routing to `version`."""
    kind, colon, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ConfigurationError(f"{where}: {text!r} is not a rule: use {RULE_FORMS}")
    values = tuple(item.strip() for item in rest.split(",") if item.strip())
    if kind in _LISTS:
        if not values:
            raise ConfigurationError(
                f"{where}: {text!r} names no one: use {kind}:NAME,NAME (e.g. {kind}:"
                f"{'alice,bob' if kind == USERS else 'chrts,gbbbc'})"
            )
        return RouteRule(version=version, kind=kind, values=values)
    if kind == PERCENT:
        return RouteRule(version=version, kind=kind, values=(_percent(text, rest, where),))
    if colon:
        raise ConfigurationError(f"{where}: {kind!r} takes no value, not {text!r}")
    return RouteRule(version=version, kind=kind)


def _percent(text: str, rest: str, where: str) -> str:
    try:
        share = float(rest.strip())
    except ValueError:
        share = -1.0
    if not 0 <= share <= 100:
        raise ConfigurationError(
            f"{where}: {text!r} needs a share from 0 to 100: use percent:N (e.g. percent:30)"
        )
    return rest.strip()


def parse_route(text: str, *, where: str) -> RouteRule:
    """Read `NAME=RULE` (the --route flag): who sees version NAME."""
    name, equals, rule = text.partition("=")
    if not equals or not name.strip() or not rule.strip():
        raise ConfigurationError(
            f"{where}: {text!r} is not NAME=RULE: e.g. dev=users:alice or canary=percent:10 "
            f"(RULE: {RULE_FORMS})"
        )
    version = name.strip()
    if version != PRODUCTION:
        check_version_name(version, where)
    return parse_rule(version, rule, where=where)


def parse_version_url(text: str, *, where: str) -> tuple[str, str]:
    """Read `NAME=URL` (the --version flag): one instance of version NAME."""
    name, equals, url = text.partition("=")
    if not equals or not name.strip() or not url.strip():
        raise ConfigurationError(
            f"{where}: {text!r} is not NAME=URL: e.g. dev=http://127.0.0.1:5001"
        )
    version = check_version_name(name.strip(), where)
    try:
        return version, normalise_service_url(url.strip())
    except ConfigurationError as error:
        raise ConfigurationError(f"{where}: {error}") from None


def versions_from_pairs(
    pairs: tuple[tuple[str, str], ...], shadows: tuple[str, ...] = (), *, where: str = ""
) -> tuple[ServiceVersion, ...]:
    """Group NAME=URL pairs into versions (in order of first mention); mark the shadows."""
    urls: dict[str, list[str]] = {}
    for name, url in pairs:
        urls.setdefault(name, []).append(url)
    for name in shadows:
        if name not in urls:
            raise ConfigurationError(
                f"{where or 'shadow'}: no version {name!r} to shadow: give its instances "
                f"with --version {name}=URL first"
            )
    return tuple(
        ServiceVersion(name=name, service_urls=tuple(found), shadow=name in shadows)
        for name, found in urls.items()
    )


# -- choosing --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class VersionChoice:
    """The version a request is served from, and the opt-in switches its user is offered."""

    version: str = PRODUCTION
    offered: tuple[str, ...] = ()  # versions this user may opt in to
    opted: str | None = None  # the one they opted in to (None: none)


def may_opt_in(identity: Identity) -> bool:
    """Who may opt in to a version: signed-in members of the project (administrators too)."""
    user = identity.user
    return user.is_authenticated and (user.ebuio_member or user.ebuio_admin)


def percent_position(project_key: str, version: str, user_key: str) -> float:
    """Place a user on [0, 100): the same for a (project, version, user) in every process."""
    digest = hashlib.sha256(f"{project_key}\x00{version}\x00{user_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def user_key(identity: Identity, visitor: str | None) -> str | None:
    """Name the user `percent` splits by: their pk, else the anonymous visitor's id."""
    if identity.user.is_authenticated:
        return f"user:{identity.user.pk}"
    return None if visitor is None else f"visitor:{visitor}"


def choose_version(
    project: Project, identity: Identity, *, opted: str | None = None, visitor: str | None = None
) -> VersionChoice:
    """Try `project`'s rules in order for this identity; the first match names the version."""
    offered = _offered(project, identity)
    opted = opted if opted in offered else None
    key = user_key(identity, visitor)
    chosen = next(
        (rule.version for rule in project.rules if _matches(rule, project, identity, opted, key)),
        PRODUCTION,
    )
    return VersionChoice(version=chosen, offered=offered, opted=opted)


def _offered(project: Project, identity: Identity) -> tuple[str, ...]:
    if not may_opt_in(identity):
        return ()
    return tuple(dict.fromkeys(rule.version for rule in project.rules if rule.kind == OPT_IN))


def _matches(
    rule: RouteRule, project: Project, identity: Identity, opted: str | None, key: str | None
) -> bool:
    user = identity.user
    if rule.kind == PERCENT:
        share = float(rule.values[0])
        return key is not None and percent_position(project.key, rule.version, key) < share
    if not user.is_authenticated:
        return False
    match rule.kind:
        case "users":
            return user.username in rule.values
        case "orgas":
            return bool(_codops(identity) & {value.casefold() for value in rule.values})
        case "admins":
            return user.ebuio_admin
        case "members":
            return user.ebuio_member or user.ebuio_admin
        case "opt-in":
            return opted == rule.version
    return False


def _codops(identity: Identity) -> set[str]:
    """The codes of the user's organisations (and the current one)."""
    found = {orga.codops.casefold() for orga in identity.user.orgas}
    if identity.orga is not None:
        found.add(identity.orga.codops.casefold())
    return found


def needs_visitor(project: Project) -> bool:
    """Tell whether anonymous visitors need an id: the project splits by percent."""
    return any(rule.kind == PERCENT for rule in project.rules)
