"""Typed configuration of the proxy: projects (one per service) and the upstream client.

These objects are built once when the application starts (from Django settings, or given
directly by tests and by the platform) and handed to the pipeline; nothing on the hot path
reads Django settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS

STANDALONE_MOUNT = "/plugIt/"
DEFAULT_MENU_ACTION = "menubar"
# The page layouts service templates extend as `plugIt/base.html`: Bootstrap 5, or Bootstrap 3
# with jQuery for services written for the original PlugIt.
LAYOUT_MODERN = "modern"
LAYOUT_LEGACY = "legacy"
LAYOUTS = (LAYOUT_MODERN, LAYOUT_LEGACY)
PRODUCTION = "production"  # the version every project has: its `service_urls`


@dataclass(frozen=True, kw_only=True)
class ServiceVersion:
    """A named version of a project's service (`dev`, `canary`...): its own instances.

    A `shadow` version is never shown: it receives copies of the chosen requests (safe methods,
    and unsafe ones too with `shadow_unsafe`) after the real answer is sent.
    """

    name: str
    service_urls: tuple[str, ...]
    shadow: bool = False
    shadow_unsafe: bool = False


@dataclass(frozen=True, kw_only=True)
class RouteRule:
    """Who sees `version`: `kind` is users, orgas, admins, members, percent or opt-in.

    `values` holds the user names (users), the organisations' codes (orgas) or the percentage
    (percent, one value); admins, members and opt-in take none. First match wins.
    """

    version: str
    kind: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Project:
    """One service as the proxy shows it: where it lives and how its pages are served."""

    key: str
    name: str
    mount: str
    service_urls: tuple[str, ...]
    orga_mode: bool = True
    proxy_mode: bool = False
    menu_action: str | None = DEFAULT_MENU_ACTION
    layout: str = LAYOUT_MODERN
    user_fields: tuple[str, ...] = DEFAULT_USER_FIELDS
    honor_x_forwarded_for: bool = False
    trusted_proxies: int = 1  # with honor_x_forwarded_for: the reverse proxies in front
    # Hosted platform only (the standalone proxy keeps the defaults): who may open the
    # project at all (`public`, `signed_in`, `members`), whether its pages need HTTPS, which
    # organisations it accepts (None: any) and the keyed hash of its API key (None: no key).
    visibility: str = "public"
    requires_https: bool = False
    allowed_orgas: frozenset[int] | None = None
    api_key_hash: str | None = None
    # Routing by identity: the named versions besides production, the rules choosing among
    # them, and which version this object serves (for_version derives the others).
    versions: tuple[ServiceVersion, ...] = ()
    rules: tuple[RouteRule, ...] = ()
    version: str = PRODUCTION
    _derived: dict[str, Project] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not (self.mount.startswith("/") and self.mount.endswith("/")):
            raise ConfigurationError(
                f"A project's mount must start and end with '/', not {self.mount!r}."
            )
        if self.layout not in LAYOUTS:
            raise ConfigurationError(
                f"Project {self.key!r}: unknown layout {self.layout!r} "
                f"(one of {', '.join(LAYOUTS)})."
            )
        if self.trusted_proxies < 1:
            raise ConfigurationError(
                f"PLUGIT_TRUSTED_PROXIES must be 1 or more, not {self.trusted_proxies}."
            )
        if not self.service_urls:
            raise ConfigurationError(f"Project {self.key!r} has no service URL.")
        normalised = tuple(normalise_service_url(url) for url in self.service_urls)
        object.__setattr__(self, "service_urls", normalised)
        object.__setattr__(
            self,
            "versions",
            tuple(
                replace(v, service_urls=tuple(normalise_service_url(u) for u in v.service_urls))
                for v in self.versions
            ),
        )
        try:
            check_routing(self.versions, self.rules)
        except ConfigurationError as error:
            raise ConfigurationError(f"Project {self.key!r}: {error}") from None

    @property
    def cache_namespace(self) -> str:
        """Prefix every cache key: projects, and versions of a project, never share entries."""
        if self.version == PRODUCTION:
            return f"{self.key}|{self.service_urls[0]}"
        return f"{self.key}|{self.version}|{self.service_urls[0]}"

    def for_version(self, name: str) -> Project:
        """This project as served by its version `name` (itself for production or unknown)."""
        if name == self.version:
            return self
        derived = self._derived.get(name)
        if derived is None:
            found = next((v for v in self.versions if v.name == name), None)
            if found is None:
                return self
            derived = replace(self, service_urls=found.service_urls, version=name)
            self._derived[name] = derived
        return derived


def check_routing(versions: tuple[ServiceVersion, ...], rules: tuple[RouteRule, ...]) -> None:
    """Refuse a rule naming a version without instances, or one only shadowed."""
    shown = {PRODUCTION} | {v.name for v in versions if not v.shadow}
    for rule in rules:
        if rule.version in shown:
            continue
        if any(v.name == rule.version for v in versions):
            raise ConfigurationError(
                f"a {rule.kind} rule routes to {rule.version!r}, a shadow version "
                "(never shown to anyone)"
            )
        raise ConfigurationError(
            f"a {rule.kind} rule routes to {rule.version!r}, which has no instances "
            f"(give them as --version {rule.version}=URL)"
        )


def normalise_service_url(url: str) -> str:
    """Check a service base URL and give it its trailing slash."""
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"A service URL must start with http:// or https://, not {url!r} "
            "(e.g. --service http://127.0.0.1:5000)."
        )
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True, kw_only=True)
class UpstreamConfig:
    """Deadlines and limits of every call to a service."""

    connect_timeout: float = 5.0
    timeout: float = 30.0
    max_body: int = 10 * 1024 * 1024
    pool_size: int = 100
    # The route circuit breakers (breaker.py): a route's opens after this many timeouts in a
    # row (0: never), for this many seconds; a route that opens makes the client probe the
    # instance (`ping`, within `probe_timeout`).
    breaker_failures: int = 5
    breaker_cooldown: float = 10.0
    probe_timeout: float = 2.0
    # Instance health (health.py, prober.py): probed every `health_interval` seconds (0: never;
    # `health_probes` off: this process follows the others' verdicts only); out of rotation
    # after `eject_after` failed probes or calls in a row (0: never), for `eject_backoff`
    # seconds, doubled on each new failure up to `eject_max_backoff`.
    health_interval: float = 5.0
    health_probes: bool = True
    eject_after: int = 3
    eject_backoff: float = 5.0
    eject_max_backoff: float = 120.0
    # A cached page is served, marked stale, this many seconds past its expiry while every
    # instance of its service is down (0: never).
    stale_if_error: float = 300.0
    # The bulkhead of each instance (bulkhead.py): at most this many calls in flight (0: no
    # limit); a call waits this many seconds for a slot, then is a 503.
    instance_connections: int = 20
    instance_queue_timeout: float = 1.0
    # Shadow versions (pipeline/shadow.py): each copy has this deadline; at most this many
    # copies are in flight per process (more are dropped, and counted); unsafe methods are
    # copied to the versions named here (or marked `shadow_unsafe`) only.
    shadow_timeout: float = 5.0
    shadow_in_flight: int = 20
    shadow_unsafe: tuple[str, ...] = ()
    # WebSockets (pipeline/websocket.py): the largest message either side may send, the
    # seconds a socket may stay silent both ways (0: no limit), and the deadline for opening
    # one (the session, the meta, the service's handshake).
    ws_max_message: int = 1024 * 1024
    ws_idle_timeout: float = 300.0
    ws_connect_timeout: float = 10.0


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """Everything the page pipeline needs, read once at start-up."""

    platform_name: str = "PlugIt"
    static_url: str = "/static/"
    standalone: bool = True
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    projects: tuple[Project, ...] = ()
    # Development mode (PLUGIT_DEV): meta, templates and pages are asked afresh on every
    # page, never kept, so an edited template or action shows on the next reload.
    dev: bool = False
