"""The proxy's one configuration: a frozen tree built once from flags, environment, defaults.

    config = load_configuration({"PLUGIT_SERVICE_URL": "http://127.0.0.1:5000"})

Flags win over `PLUGIT_*` variables, which win over the defaults; the original PlugIt names
(`PIAPI_*`) are read where they map. Every value is parsed by its type's helper
(plugit_proxy.envvalues): a bad one is a `ConfigurationError` naming the variable and the value.
Building reads and writes nothing on disk; plugit_proxy.setup does that, once, at start-up.

Worker processes. uvicorn starts its workers as fresh interpreters, which rebuild the
configuration. They inherit the environment, so only the flags must reach them: the parent
writes them, as one JSON object keyed by variable name, to `PLUGIT_FLAGS` (`export_flags`),
and `load_configuration` reads that object as flags. One variable, written by the parent
only, rather than one exported variable per flag: the environment the user set stays as it
was, and a flag cannot be mistaken for a variable the user set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from plugit.exceptions import ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS

from .config import (
    DEFAULT_MENU_ACTION,
    LAYOUT_MODERN,
    LAYOUTS,
    RouteRule,
    ServiceVersion,
    UpstreamConfig,
    check_routing,
)
from .envvalues import (
    Environment,
    parse_bool,
    parse_bytes,
    parse_choice,
    parse_database_url,
    parse_int,
    parse_list,
    parse_networks,
    parse_port,
    parse_seconds,
    parse_url,
)
from .versionrouting import parse_route, parse_version_url, versions_from_pairs

__all__ = [
    "FLAGS_VARIABLE",
    "MODES",
    "CacheConfig",
    "Configuration",
    "DatabaseConfig",
    "MailCommandsConfig",
    "MailConfig",
    "OidcConfig",
    "PlatformConfig",
    "SecurityConfig",
    "ServerConfig",
    "StandaloneConfig",
    "current_configuration",
    "export_flags",
    "install_configuration",
    "load_configuration",
    "load_mail_commands",
    "metrics_dir",
    "secret_from",
    "set_metrics_dir",
]

FLAGS_VARIABLE = "PLUGIT_FLAGS"
STANDALONE = "standalone"
PLATFORM = "platform"
MODES = (STANDALONE, PLATFORM)
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own name
EMAIL_VERIFICATION = ("mandatory", "optional", "none")
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """The process: mode, where it listens, its data folder, the limits on every request."""

    mode: str = STANDALONE  # `standalone` (plugit proxy) or `platform` (plugit platform serve)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None  # None: one per core
    access_log: bool = False
    log_level: str = "info"
    log_format: str = "text"  # `json`: one JSON object per line
    # Take the front proxy's X-Request-ID instead of making one (requestcontext.py).
    trust_request_id: bool = False
    # Who may read /metrics: a Bearer token, or an address in these networks (metricsview.py).
    metrics_token: str = ""
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    debug: bool = False
    # Development mode (`plugit dev`, `plugit proxy --dev`): nothing cached (meta, templates,
    # pages), and error pages show the service's addresses, errors and tracebacks.
    dev: bool = False
    use_i18n: bool = False
    data_dir: Path = Path(".plugit")
    public_url: str = ""  # where browsers reach the platform, no trailing slash
    allowed_hosts: tuple[str, ...] = ()
    csrf_trusted_origins: tuple[str, ...] = ()
    max_body: int = 10 * MIB
    body_timeout: float = 30.0


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """The database: a URL, or SQLite in the data folder."""

    url: str = ""


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    """The shared cache and the sessions: Redis, or files in the data folder."""

    redis_url: str = ""
    size_limit: int = 256 * MIB
    prefix: str = "plugit"
    session_engine: str = "plugit_proxy.sessionstore"


@dataclass(frozen=True, kw_only=True)
class OidcConfig:
    """One OpenID Connect provider for single sign-on."""

    server_url: str
    provider_id: str = "sso"
    name: str = "Single sign-on"
    client_id: str = ""
    secret: str = ""


@dataclass(frozen=True, kw_only=True)
class SecurityConfig:
    """Secrets, HTTPS, cookies, accounts."""

    secret_key: str = ""  # blank: the key generated once in the data folder
    secret_key_fallbacks: tuple[str, ...] = ()
    secure_cookies: bool = False
    https_redirect: bool = False
    hsts_seconds: int = 0
    behind_tls_proxy: bool = False
    content_security_policy: str = DEFAULT_CSP
    login_rate_limits: bool = True
    email_verification: str = "mandatory"
    oidc: OidcConfig | None = None


@dataclass(frozen=True, kw_only=True)
class StandaloneConfig:
    """The one service of `plugit proxy` and how its pages are served."""

    service_url: str = ""  # the first of `service_urls`
    service_urls: tuple[str, ...] = ()  # the production instances
    versions: tuple[ServiceVersion, ...] = ()  # named versions and their instances
    rules: tuple[RouteRule, ...] = ()  # who sees which version, first match wins
    orga_mode: bool = True
    proxy_mode: bool = False
    menu_action: str | None = DEFAULT_MENU_ACTION
    layout: str = LAYOUT_MODERN
    user_fields: tuple[str, ...] = DEFAULT_USER_FIELDS
    honor_x_forwarded_for: bool = False
    trusted_proxies: int = 1


@dataclass(frozen=True, kw_only=True)
class MailConfig:
    """Where the outbox sends, and its limits (docs/mail.md)."""

    email_url: str = ""
    email_backend: str = ""
    sender: str = "notifications@example.org"
    background: bool = True
    max_attempts: int = 25
    reply_days: int = 90
    allowed_sender_domains: tuple[str, ...] = ()
    max_recipients: int = 50
    max_per_minute: int = 60
    max_message_size: int = MIB
    receive_max_size: int = 2 * MIB
    keep_replies_days: int = 30


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    """The hosted platform: project refreshes, account caching, origins, API-key limits."""

    projects_refresh: float = 2.0
    account_cache_seconds: int = 60
    projects_domain: str = ""
    api_key_failures: int = 20
    api_key_window: int = 60
    # Self-registered instances (plugit_proxy.registry): gone after `registry_ttl` seconds
    # without a heartbeat; served only once approved when `registry_approval` is on.
    registry_ttl: float = 30.0
    registry_approval: bool = False


@dataclass(frozen=True, kw_only=True)
class Configuration:
    """Everything the proxy is configured with, read once."""

    platform_name: str = "PlugIt"
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    standalone: StandaloneConfig = field(default_factory=StandaloneConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    flags: Mapping[str, Any] = field(default_factory=dict, compare=False)  # as given


def load_configuration(
    flags: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Configuration:
    """Build the configuration: `flags` (by variable name), then `environ`, then defaults."""
    source = os.environ if environ is None else environ
    given = {
        **_inherited_flags(source),
        **{k: v for k, v in (flags or {}).items() if v is not None},
    }
    env = Environment(source, given)
    server = _server(env)
    return Configuration(
        platform_name=env.text("PLUGIT_PLATFORM_NAME", "PlugIt"),
        server=server,
        database=DatabaseConfig(url=env.get("PLUGIT_DATABASE_URL", parse_database_url, "")),
        cache=_cache(env),
        security=_security(env, server),
        standalone=_standalone(env),
        upstream=_upstream(env, dev=server.dev),
        mail=_mail(env),
        platform=_platform(env),
        flags=given,
    )


def _inherited_flags(environ: Mapping[str, str]) -> dict[str, Any]:
    raw = environ.get(FLAGS_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        flags = json.loads(raw)
    except ValueError:
        flags = None
    if not isinstance(flags, dict):
        raise ConfigurationError(
            f"{FLAGS_VARIABLE}={raw!r} is not a JSON object: it is written by `plugit proxy` "
            "and `plugit platform serve` for their workers; unset it"
        )
    return flags


def export_flags(config: Configuration) -> None:
    """Write the command line's flags to `PLUGIT_FLAGS`, for the workers uvicorn spawns."""
    if config.flags:
        os.environ[FLAGS_VARIABLE] = json.dumps(dict(config.flags), sort_keys=True)


def _server(env: Environment) -> ServerConfig:
    public = env.get("PLUGIT_PUBLIC_URL", parse_url, "").rstrip("/")
    workers = env.get("PLUGIT_WORKERS", parse_int, 0)
    mode = env.get("PLUGIT_MODE", partial(parse_choice, choices=MODES), STANDALONE)
    return ServerConfig(
        mode=mode,
        host=env.text("PLUGIT_HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=env.get("PLUGIT_PORT", parse_port, 8000),
        workers=workers or None,
        # The platform logs every request unless told not to; `plugit proxy` only when told.
        access_log=env.get("PLUGIT_ACCESS_LOG", parse_bool, mode == PLATFORM),
        log_level=env.get("PLUGIT_LOG_LEVEL", partial(parse_choice, choices=LOG_LEVELS), "info"),
        log_format=env.get("PLUGIT_LOG_FORMAT", partial(parse_choice, choices=LOG_FORMATS), "text"),
        trust_request_id=env.get("PLUGIT_TRUST_REQUEST_ID", parse_bool, False),
        metrics_token=env.text("PLUGIT_METRICS_TOKEN").strip(),
        metrics_networks=env.get(
            "PLUGIT_METRICS_NETWORKS", parse_networks, ServerConfig.metrics_networks
        ),
        debug=env.get("PLUGIT_DEBUG", parse_bool, False),
        dev=env.get("PLUGIT_DEV", parse_bool, False),
        use_i18n=env.get("PLUGIT_USE_I18N", parse_bool, False),
        data_dir=Path(env.text("PLUGIT_DATA_DIR").strip() or ".plugit").resolve(),
        public_url=public,
        allowed_hosts=env.get("PLUGIT_ALLOWED_HOSTS", parse_list, ()),
        csrf_trusted_origins=env.get(
            "PLUGIT_CSRF_TRUSTED_ORIGINS", parse_list, (public,) if public else ()
        ),
        max_body=env.get("PLUGIT_MAX_BODY", parse_bytes, 10 * MIB),
        body_timeout=env.get("PLUGIT_BODY_TIMEOUT", parse_seconds, 30.0),
    )


def _cache(env: Environment) -> CacheConfig:
    redis = partial(parse_url, schemes=("redis", "rediss", "unix"))
    return CacheConfig(
        redis_url=env.get("PLUGIT_REDIS_URL", redis, ""),
        size_limit=env.get("PLUGIT_CACHE_SIZE_LIMIT", parse_bytes, 256 * MIB),
        prefix=env.text("PLUGIT_CACHE_PREFIX", "plugit"),
        session_engine=env.text("PLUGIT_SESSION_ENGINE").strip() or "plugit_proxy.sessionstore",
    )


def _security(env: Environment, server: ServerConfig) -> SecurityConfig:
    oidc_url = env.text("PLUGIT_OIDC_SERVER_URL").strip()
    oidc = None
    if oidc_url:
        oidc = OidcConfig(
            server_url=oidc_url,
            provider_id=env.text("PLUGIT_OIDC_PROVIDER_ID", "sso"),
            name=env.text("PLUGIT_OIDC_NAME", "Single sign-on"),
            client_id=env.text("PLUGIT_OIDC_CLIENT_ID"),
            secret=env.text("PLUGIT_OIDC_SECRET"),
        )
    https_public = server.public_url.startswith("https://")
    verification = partial(parse_choice, choices=EMAIL_VERIFICATION)
    return SecurityConfig(
        secret_key=env.text("PLUGIT_SECRET_KEY"),
        secret_key_fallbacks=env.get("PLUGIT_SECRET_KEY_FALLBACKS", parse_list, ()),
        secure_cookies=env.get("PLUGIT_SECURE_COOKIES", parse_bool, https_public),
        https_redirect=env.get("PLUGIT_HTTPS_REDIRECT", parse_bool, False),
        hsts_seconds=env.get("PLUGIT_HSTS_SECONDS", parse_int, 0),
        behind_tls_proxy=env.get("PLUGIT_BEHIND_TLS_PROXY", parse_bool, False),
        content_security_policy=env.text("PLUGIT_CONTENT_SECURITY_POLICY", DEFAULT_CSP),
        login_rate_limits=env.get("PLUGIT_LOGIN_RATE_LIMITS", parse_bool, True),
        email_verification=env.get("PLUGIT_EMAIL_VERIFICATION", verification, "mandatory"),
        oidc=oidc,
    )


def _standalone(env: Environment) -> StandaloneConfig:
    menu = env.text("PLUGIT_MENU_ACTION", DEFAULT_MENU_ACTION, "PIAPI_PLUGITMENUACTION")
    services = tuple(
        parse_url("PLUGIT_SERVICE_URL", url)
        for url in _items(env, "PLUGIT_SERVICE_URL", ",", "PIAPI_STANDALONE_URI")
    )
    versions, rules = _routing(env)
    return StandaloneConfig(
        service_url=services[0] if services else "",
        service_urls=services,
        versions=versions,
        rules=rules,
        orga_mode=env.get("PLUGIT_ORGA_MODE", parse_bool, True, "PIAPI_ORGAMODE"),
        proxy_mode=env.get("PLUGIT_PROXY_MODE", parse_bool, False, "PIAPI_PROXYMODE"),
        menu_action=menu.strip() or None,
        layout=env.get("PLUGIT_LAYOUT", partial(parse_choice, choices=LAYOUTS), LAYOUT_MODERN),
        user_fields=env.get(
            "PLUGIT_USER_FIELDS", parse_list, DEFAULT_USER_FIELDS, "PIAPI_USERDATA"
        ),
        honor_x_forwarded_for=env.get(
            "PLUGIT_HONOR_X_FORWARDED_FOR", parse_bool, False, "HONOR_X_FORWARDED_FOR"
        ),
        trusted_proxies=env.get("PLUGIT_TRUSTED_PROXIES", partial(parse_int, minimum=1), 1),
    )


def _routing(env: Environment) -> tuple[tuple[ServiceVersion, ...], tuple[RouteRule, ...]]:
    """The named versions (--version, --shadow) and the rules choosing them (--route)."""
    pairs = tuple(
        parse_version_url(pair, where="PLUGIT_VERSIONS (--version)")
        for pair in _items(env, "PLUGIT_VERSIONS", ",")
    )
    shadows = _items(env, "PLUGIT_SHADOW", ",")
    versions = versions_from_pairs(pairs, shadows, where="PLUGIT_SHADOW (--shadow)")
    where = "PLUGIT_ROUTES (--route)"
    rules = tuple(parse_route(route, where=where) for route in _items(env, "PLUGIT_ROUTES", ";"))
    try:
        check_routing(versions, rules)
    except ConfigurationError as error:
        raise ConfigurationError(f"{where}: {error}") from None
    return versions, rules


def _items(env: Environment, name: str, separator: str, *aliases: str) -> tuple[str, ...]:
    """The items of a list variable, or of a repeatable flag's values (each may list more)."""
    given = env.overrides.get(name)
    if given is None:
        values = [env.text(name, "", *aliases)]
    else:
        values = [given] if isinstance(given, str) else [str(value) for value in given]
    return tuple(
        item.strip() for value in values for item in value.split(separator) if item.strip()
    )


def _upstream(env: Environment, *, dev: bool = False) -> UpstreamConfig:
    # Development mode: the service restarts on each edit (refused for a moment), so by
    # default nothing takes its only instance out of rotation nor opens a route's circuit.
    default = UpstreamConfig(eject_after=0, breaker_failures=0) if dev else UpstreamConfig()
    seconds_or_off = partial(parse_seconds, positive=False)  # 0: off
    return UpstreamConfig(
        connect_timeout=env.get(
            "PLUGIT_UPSTREAM_CONNECT_TIMEOUT", parse_seconds, default.connect_timeout
        ),
        timeout=env.get("PLUGIT_UPSTREAM_TIMEOUT", parse_seconds, default.timeout),
        max_body=env.get("PLUGIT_UPSTREAM_MAX_BODY", parse_bytes, default.max_body),
        breaker_failures=env.get(
            "PLUGIT_UPSTREAM_BREAKER_FAILURES", parse_int, default.breaker_failures
        ),
        breaker_cooldown=env.get(
            "PLUGIT_UPSTREAM_BREAKER_COOLDOWN", parse_seconds, default.breaker_cooldown
        ),
        instance_connections=env.get(
            "PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS", parse_int, default.instance_connections
        ),
        instance_queue_timeout=env.get(
            "PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT", parse_seconds, default.instance_queue_timeout
        ),
        probe_timeout=env.get("PLUGIT_HEALTH_TIMEOUT", parse_seconds, default.probe_timeout),
        health_interval=env.get("PLUGIT_HEALTH_INTERVAL", seconds_or_off, default.health_interval),
        health_probes=env.get("PLUGIT_HEALTH_PROBES", parse_bool, default.health_probes),
        eject_after=env.get("PLUGIT_EJECT_AFTER", parse_int, default.eject_after),
        eject_backoff=env.get("PLUGIT_EJECT_BACKOFF", parse_seconds, default.eject_backoff),
        eject_max_backoff=env.get(
            "PLUGIT_EJECT_MAX_BACKOFF", parse_seconds, default.eject_max_backoff
        ),
        stale_if_error=env.get("PLUGIT_STALE_IF_ERROR", seconds_or_off, default.stale_if_error),
        shadow_timeout=env.get("PLUGIT_SHADOW_TIMEOUT", parse_seconds, default.shadow_timeout),
        shadow_in_flight=env.get(
            "PLUGIT_SHADOW_IN_FLIGHT", partial(parse_int, minimum=1), default.shadow_in_flight
        ),
        shadow_unsafe=_items(env, "PLUGIT_SHADOW_UNSAFE", ","),
        ws_max_message=env.get("PLUGIT_WS_MAX_MESSAGE", parse_bytes, default.ws_max_message),
        ws_idle_timeout=env.get("PLUGIT_WS_IDLE_TIMEOUT", seconds_or_off, default.ws_idle_timeout),
        ws_connect_timeout=env.get(
            "PLUGIT_WS_CONNECT_TIMEOUT", parse_seconds, default.ws_connect_timeout
        ),
    )


def _mail(env: Environment) -> MailConfig:
    default = MailConfig()
    return MailConfig(
        email_url=env.text("PLUGIT_EMAIL_URL"),
        email_backend=env.text("PLUGIT_EMAIL_BACKEND"),
        sender=env.text("PLUGIT_MAIL_SENDER", default.sender),
        background=env.get("PLUGIT_MAIL_BACKGROUND", parse_bool, True),
        max_attempts=env.get("PLUGIT_MAIL_MAX_ATTEMPTS", parse_int, default.max_attempts),
        reply_days=env.get("PLUGIT_MAIL_REPLY_DAYS", parse_int, default.reply_days),
        allowed_sender_domains=env.get("PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS", parse_list, ()),
        max_recipients=env.get("PLUGIT_MAIL_MAX_RECIPIENTS", parse_int, default.max_recipients),
        max_per_minute=env.get("PLUGIT_MAIL_MAX_PER_MINUTE", parse_int, default.max_per_minute),
        max_message_size=env.get(
            "PLUGIT_MAIL_MAX_MESSAGE_SIZE", parse_bytes, default.max_message_size
        ),
        receive_max_size=env.get(
            "PLUGIT_MAIL_RECEIVE_MAX_SIZE", parse_bytes, default.receive_max_size
        ),
        keep_replies_days=env.get(
            "PLUGIT_MAIL_KEEP_REPLIES_DAYS", parse_int, default.keep_replies_days
        ),
    )


def _platform(env: Environment) -> PlatformConfig:
    domain = env.text("PLUGIT_PROJECTS_DOMAIN").strip().strip(".").lower()
    return PlatformConfig(
        projects_refresh=env.get("PLUGIT_PROJECTS_REFRESH", parse_seconds, 2.0),
        account_cache_seconds=env.get("PLUGIT_ACCOUNT_CACHE_SECONDS", parse_int, 60),
        projects_domain=domain,
        api_key_failures=env.get("PLUGIT_API_KEY_FAILURES", parse_int, 20),
        api_key_window=env.get("PLUGIT_API_KEY_WINDOW", partial(parse_int, minimum=1), 60),
        registry_ttl=env.get("PLUGIT_REGISTRY_TTL", parse_seconds, 30.0),
        registry_approval=env.get("PLUGIT_REGISTRY_APPROVAL", parse_bool, False),
    )


@dataclass(frozen=True, kw_only=True)
class MailCommandsConfig:
    """The flags of `plugit mail worker|poll|receive` (each also a PLUGIT_MAIL_* variable)."""

    worker_interval: float = 10.0
    worker_once: bool = False
    poll_once: bool = False
    poll_protocol: str = "imap"
    poll_host: str = ""
    poll_port: int | None = None  # None: the protocol's usual port
    poll_security: str = "ssl"
    poll_user: str = ""
    poll_password_env: str = "PLUGIT_MAIL_POLL_PASSWORD"  # noqa: S105 (a name, not a secret)
    poll_folder: str = "INBOX"
    poll_cafile: str | None = None
    poll_interval: float = 60.0
    receive_host: str = "127.0.0.1"
    receive_port: int = 8025
    receive_lmtp: bool = False


def load_mail_commands(
    flags: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> MailCommandsConfig:
    """Build the mail commands' settings: `flags` (by variable name), environment, defaults."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    env = Environment(os.environ if environ is None else environ, given)
    d = MailCommandsConfig()
    return MailCommandsConfig(
        worker_interval=env.get("PLUGIT_MAIL_WORKER_INTERVAL", parse_seconds, d.worker_interval),
        worker_once=env.get("PLUGIT_MAIL_WORKER_ONCE", parse_bool, False),
        poll_once=env.get("PLUGIT_MAIL_POLL_ONCE", parse_bool, False),
        poll_protocol=env.get(
            "PLUGIT_MAIL_POLL_PROTOCOL", partial(parse_choice, choices=("imap", "pop3")), "imap"
        ),
        poll_host=env.text("PLUGIT_MAIL_POLL_HOST"),
        poll_port=env.get("PLUGIT_MAIL_POLL_PORT", parse_int, 0) or None,
        poll_security=env.get(
            "PLUGIT_MAIL_POLL_SECURITY",
            partial(parse_choice, choices=("ssl", "starttls", "none")),
            "ssl",
        ),
        poll_user=env.text("PLUGIT_MAIL_POLL_USER"),
        poll_password_env=env.text("PLUGIT_MAIL_POLL_PASSWORD_ENV").strip() or d.poll_password_env,
        poll_folder=env.text("PLUGIT_MAIL_POLL_FOLDER", "INBOX"),
        poll_cafile=env.text("PLUGIT_MAIL_POLL_CAFILE").strip() or None,
        poll_interval=env.get("PLUGIT_MAIL_POLL_INTERVAL", parse_seconds, d.poll_interval),
        receive_host=env.text("PLUGIT_MAIL_RECEIVE_HOST", d.receive_host),
        receive_port=env.get("PLUGIT_MAIL_RECEIVE_PORT", parse_int, d.receive_port),
        receive_lmtp=env.get("PLUGIT_MAIL_RECEIVE_LMTP", parse_bool, False),
    )


def metrics_dir() -> str:
    """The folder of the worker processes' metrics files, "" with one process."""
    return os.environ.get(METRICS_DIR_VARIABLE, "")


def set_metrics_dir(folder: Path) -> None:
    """Make the worker processes started from now on write their metrics to `folder`."""
    os.environ[METRICS_DIR_VARIABLE] = str(folder)


def secret_from(variable: str) -> str | None:
    """The value of the variable a setting names as holding a secret (e.g. a password)."""
    return os.environ.get(variable)


_installed: Configuration | None = None


def install_configuration(config: Configuration) -> None:
    """Make `config` the process's configuration (what Django's settings are derived from)."""
    global _installed
    _installed = config


def current_configuration() -> Configuration:
    """The installed configuration, else one built now from the environment (and kept)."""
    global _installed
    if _installed is None:
        _installed = load_configuration()
    return _installed
