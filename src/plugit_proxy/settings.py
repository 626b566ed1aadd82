"""Django settings of the proxy, read from `PLUGIT_*` environment variables.

Zero setup: with nothing set, the proxy keeps an SQLite database and a generated secret key in
its data directory (`./.plugit/`, or `PLUGIT_DATA_DIR`), caches there too (one cache for
all its worker processes, at most `PLUGIT_CACHE_SIZE_LIMIT` bytes, 256 MiB), and logs
mail to the console. Sessions are kept there too, in a cache folder of their own (the
browser holds only a random key). `PLUGIT_REDIS_URL` moves the cache and the sessions to Redis.
The original PlugIt names (`PIAPI_*`) are accepted where they map.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from plugit.protocol import DEFAULT_USER_FIELDS
from plugit_proxy.assets import BOOTSTRAP3_VERSION, build_bootstrap3_css, legacy_static_dirs
from plugit_proxy.mail.emailurl import parse_email_url


def env_str(name: str, default: str = "", *aliases: str) -> str:
    """Read a string setting from the first of `name` and `aliases` that is set."""
    for key in (name, *aliases):
        value = os.environ.get(key)
        if value is not None:
            return value
    return default


def env_bool(name: str, default: bool, *aliases: str) -> bool:
    """Read a boolean setting (`1/true/yes/on` or `0/false/no/off`)."""
    value = env_str(name, "", *aliases).strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def env_list(name: str, default: tuple[str, ...], *aliases: str) -> tuple[str, ...]:
    """Read a comma-separated list setting."""
    value = env_str(name, "", *aliases)
    if not value.strip():
        return default
    return tuple(item.strip() for item in value.split(",") if item.strip())


def data_dir() -> Path:
    """Return the data directory (database, secret key), creating it (owner only) if needed."""
    path = Path(env_str("PLUGIT_DATA_DIR", ".plugit")).resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` readable by its owner only, or take group and others' access away."""
    if not path.exists():
        path.touch(mode=0o600)
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


def public_host(public_url: str) -> str:
    """The host name of `public_url`, as ALLOWED_HOSTS spells it (IPv6 in brackets)."""
    host = urlsplit(public_url).hostname or ""
    return f"[{host}]" if ":" in host else host


def allowed_hosts(public_url: str, mode: str, extra: tuple[str, ...]) -> list[str]:
    """The public URL's host and `extra`; without a public URL, `extra` or a safe default."""
    if public_url:
        return [public_host(public_url), *extra]
    if extra:
        return list(extra)
    if mode == "platform":  # accounts mail links: without a public URL, loopback only
        return ["localhost", "127.0.0.1", "[::1]"]
    return ["*"]  # the standalone proxy: no accounts, no mail, no link built from the host


def secret_key(directory: Path) -> str:
    """Return PLUGIT_SECRET_KEY, else the key generated once and kept in the data dir."""
    configured = env_str("PLUGIT_SECRET_KEY")
    if configured:
        return configured
    key_file = directory / "secret_key"
    if not key_file.exists():
        # Written whole under another name, then linked in place: a process starting at the
        # same moment either finds no file or the complete key, and one key wins for both.
        draft = directory / f".secret_key.{os.getpid()}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(50))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


DATA_DIR = data_dir()
SECRET_KEY = secret_key(DATA_DIR)
# Earlier secrets, comma-separated, kept while rotating PLUGIT_SECRET_KEY: sessions, signed
# values and API keys made under them still verify (Django's SECRET_KEY_FALLBACKS).
SECRET_KEY_FALLBACKS = list(env_list("PLUGIT_SECRET_KEY_FALLBACKS", ()))
# `standalone` (one service, simulated users: `plugit proxy`) or `platform` (projects and
# accounts from the database: `plugit platform serve`).
PLUGIT_MODE = env_str("PLUGIT_MODE", "standalone").strip().lower()
DEBUG = env_bool("PLUGIT_DEBUG", False)
# Where browsers reach the platform (`https://platform.example.org`): every absolute link it
# builds (account mails, redirects) starts with it, never with the request's Host.
PLUGIT_PUBLIC_URL = env_str("PLUGIT_PUBLIC_URL").strip().rstrip("/")
ALLOWED_HOSTS = allowed_hosts(PLUGIT_PUBLIC_URL, PLUGIT_MODE, env_list("PLUGIT_ALLOWED_HOSTS", ()))
CSRF_TRUSTED_ORIGINS = list(
    env_list("PLUGIT_CSRF_TRUSTED_ORIGINS", (PLUGIT_PUBLIC_URL,) if PLUGIT_PUBLIC_URL else ())
)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bootstrap",
    "plugit_proxy.apps.PlugItProxyConfig",
    "plugit_proxy.platform.apps.PlatformConfig",
    "django.contrib.admin",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "plugit_proxy.mail",
]
AUTH_USER_MODEL = "platform.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "plugit_proxy.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "plugit_proxy.urls"
ASGI_APPLICATION = "plugit_proxy.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "plugit_proxy.platform.views.platform_context",
            ],
        },
    },
]

DATABASE_URL = env_str("PLUGIT_DATABASE_URL")
if DATABASE_URL:
    import dj_database_url

    # No persistent connections: the async ORM runs queries in worker threads.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(private_file(DATA_DIR / "db.sqlite3")),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("PLUGIT_REDIS_URL")
if REDIS_URL:
    CACHES: dict[str, dict[str, object]] = {
        "default": {"BACKEND": "plugit_proxy.cache.RedisCache", "LOCATION": REDIS_URL},
    }
else:
    # One cache for every worker process of this proxy, in its data folder (SQLite files):
    # a page cached by one worker is a hit on the others. Oldest entries go past the limit.
    CACHES = {
        "default": {
            "BACKEND": "plugit_proxy.cache.DiskCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"size_limit": int(env_str("PLUGIT_CACHE_SIZE_LIMIT", str(256 * 2**20)))},
        },
        # Sessions in a folder of their own that never evicts (entries leave when they
        # expire): a flood of cached pages must not sign everyone out.
        "sessions": {
            "BACKEND": "plugit_proxy.cache.DiskCache",
            "LOCATION": str(DATA_DIR / "sessions"),
            "OPTIONS": {"eviction_policy": "none"},
        },
    }
    SESSION_CACHE_ALIAS = "sessions"
# Sessions live on the server, the browser holds only their random key: signing out ends a
# session for good, and what a service stores in it (SetSession) never reaches the browser.
# The cache backends' async twins serve the page pipeline without a thread hop; the shared
# cache lets every worker process (and machine, with Redis) see the same sessions.
SESSION_ENGINE = (
    env_str("PLUGIT_SESSION_ENGINE").strip() or "django.contrib.sessions.backends.cache"
)
# Several platforms (or test runs) may share one Redis: give each its own key prefix.
CACHES["default"]["KEY_PREFIX"] = env_str("PLUGIT_CACHE_PREFIX", "plugit")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# -- HTTPS: on with an https:// public URL, else opt-in, so plain HTTP on 127.0.0.1 works ------
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool(
    "PLUGIT_SECURE_COOKIES", PLUGIT_PUBLIC_URL.startswith("https://")
)
SECURE_SSL_REDIRECT = env_bool("PLUGIT_HTTPS_REDIRECT", False)
SECURE_HSTS_SECONDS = int(env_str("PLUGIT_HSTS_SECONDS", "0"))
if env_bool("PLUGIT_BEHIND_TLS_PROXY", False):  # trust X-Forwarded-Proto from the proxy
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The platform's own (Django) pages: never framed, no sniffing, no script from elsewhere.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
PLUGIT_CONTENT_SECURITY_POLICY = env_str(
    "PLUGIT_CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'",
)

# -- Accounts (django-allauth): sign-up with e-mail verification, log in/out, password ---
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
# No username on sign-up: a form that picks one would say which names are taken. allauth makes
# one from the address; with mandatory verification, an address in use looks like a new one.
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_VERIFICATION = env_str("PLUGIT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SESSION_COOKIE_SECURE else "http"
ACCOUNT_ADAPTER = "plugit_proxy.platform.accounts.PlatformAccountAdapter"
# Messages live in the session, never in a cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
if not env_bool("PLUGIT_LOGIN_RATE_LIMITS", True):  # allauth's per-IP limits (tests: off)
    ACCOUNT_RATE_LIMITS = False
SOCIALACCOUNT_ONLY = False
# Single sign-on through OpenID Connect, when a provider is configured.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if env_str("PLUGIT_OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env_str("PLUGIT_OIDC_PROVIDER_ID", "sso"),
                "name": env_str("PLUGIT_OIDC_NAME", "Single sign-on"),
                "client_id": env_str("PLUGIT_OIDC_CLIENT_ID"),
                "secret": env_str("PLUGIT_OIDC_SECRET"),
                "settings": {"server_url": env_str("PLUGIT_OIDC_SERVER_URL")},
            }
        ]
    }

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns without it; files come from the finders
# The legacy layout's jQuery and Bootstrap 3 come from their packages; Bootstrap 3's CSS is
# compiled from its Sass sources once per version, here, before any finder looks.
_BUILT_STATIC = DATA_DIR / "built-static" / f"bootstrap-{BOOTSTRAP3_VERSION}"
build_bootstrap3_css(_BUILT_STATIC)
STATICFILES_DIRS = legacy_static_dirs(_BUILT_STATIC)
# Static files are answered by plugit_proxy.staticfiles (WhiteNoise, streamed over ASGI).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# -- Mail (plugit_proxy.mail, docs/mail.md): the outbox's server and the platform's address ---
_EMAIL = parse_email_url(
    env_str("PLUGIT_EMAIL_URL"), default_backend=env_str("PLUGIT_EMAIL_BACKEND")
)
EMAIL_BACKEND = _EMAIL.backend
EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = _EMAIL.host, _EMAIL.port, _EMAIL.timeout
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _EMAIL.user, _EMAIL.password
EMAIL_USE_TLS, EMAIL_USE_SSL = _EMAIL.use_tls, _EMAIL.use_ssl
EMAIL_FILE_PATH = _EMAIL.file_path or str(DATA_DIR / "mail")
PLUGIT_MAIL_SENDER = env_str("PLUGIT_MAIL_SENDER", "notifications@example.org")
DEFAULT_FROM_EMAIL = PLUGIT_MAIL_SENDER
PLUGIT_MAIL_BACKGROUND = env_bool("PLUGIT_MAIL_BACKGROUND", True)
PLUGIT_MAIL_MAX_ATTEMPTS = int(env_str("PLUGIT_MAIL_MAX_ATTEMPTS", "25"))
PLUGIT_MAIL_REPLY_DAYS = int(env_str("PLUGIT_MAIL_REPLY_DAYS", "90"))
PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS = env_list("PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS", ())
PLUGIT_MAIL_MAX_RECIPIENTS = int(env_str("PLUGIT_MAIL_MAX_RECIPIENTS", "50"))
PLUGIT_MAIL_MAX_PER_MINUTE = int(env_str("PLUGIT_MAIL_MAX_PER_MINUTE", "60"))
PLUGIT_MAIL_MAX_MESSAGE_SIZE = int(env_str("PLUGIT_MAIL_MAX_MESSAGE_SIZE", "1048576"))
PLUGIT_MAIL_RECEIVE_MAX_SIZE = int(env_str("PLUGIT_MAIL_RECEIVE_MAX_SIZE", "2097152"))
PLUGIT_MAIL_KEEP_REPLIES_DAYS = int(env_str("PLUGIT_MAIL_KEEP_REPLIES_DAYS", "30"))

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
# Off by default: pages are English, and translation lookups in number filters cost ~180 µs of
# a ~900 µs page render (bench/proxy_profile.py). PLUGIT_USE_I18N=1 turns them back on.
USE_I18N = env_bool("PLUGIT_USE_I18N", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "plugit_proxy": {
            "handlers": ["console"],
            "level": env_str("PLUGIT_LOG_LEVEL", "INFO").upper(),
        },
    },
}

# -- The proxy itself (read once at start-up into plugit_proxy.config objects) ---------------
PLUGIT_SERVICE_URL = env_str("PLUGIT_SERVICE_URL", "", "PIAPI_STANDALONE_URI")
PLUGIT_ORGA_MODE = env_bool("PLUGIT_ORGA_MODE", True, "PIAPI_ORGAMODE")
PLUGIT_PROXY_MODE = env_bool("PLUGIT_PROXY_MODE", False, "PIAPI_PROXYMODE")
PLUGIT_MENU_ACTION = env_str("PLUGIT_MENU_ACTION", "menubar", "PIAPI_PLUGITMENUACTION")
# The page layout: `modern` (Bootstrap 5) or `legacy` (Bootstrap 3 and jQuery).
PLUGIT_LAYOUT = env_str("PLUGIT_LAYOUT", "modern").strip().lower()
PLUGIT_USER_FIELDS = env_list("PLUGIT_USER_FIELDS", DEFAULT_USER_FIELDS, "PIAPI_USERDATA")
PLUGIT_HONOR_X_FORWARDED_FOR = env_bool(
    "PLUGIT_HONOR_X_FORWARDED_FOR", False, "HONOR_X_FORWARDED_FOR"
)
# With it: how many reverse proxies are in front; the browser's address is that many entries
# from the right of X-Forwarded-For (what the client wrote itself is never believed).
PLUGIT_TRUSTED_PROXIES = env_str("PLUGIT_TRUSTED_PROXIES", "1")
PLUGIT_PLATFORM_NAME = env_str("PLUGIT_PLATFORM_NAME", "PlugIt")
PLUGIT_UPSTREAM_CONNECT_TIMEOUT = env_str("PLUGIT_UPSTREAM_CONNECT_TIMEOUT", "5")
PLUGIT_UPSTREAM_TIMEOUT = env_str("PLUGIT_UPSTREAM_TIMEOUT", "30")
PLUGIT_UPSTREAM_MAX_BODY = env_str("PLUGIT_UPSTREAM_MAX_BODY", str(10 * 1024 * 1024))
PLUGIT_UPSTREAM_BREAKER_FAILURES = env_str("PLUGIT_UPSTREAM_BREAKER_FAILURES", "5")
PLUGIT_UPSTREAM_BREAKER_COOLDOWN = env_str("PLUGIT_UPSTREAM_BREAKER_COOLDOWN", "10")
# The bulkhead of each service instance: calls in flight at most (0: no limit), and how long a
# call waits for one of them before its page is a 503.
PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS = env_str("PLUGIT_UPSTREAM_INSTANCE_CONNECTIONS", "20")
PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT = env_str("PLUGIT_UPSTREAM_INSTANCE_QUEUE_TIMEOUT", "1")
# Every request body (pages, API, admin): at most this many bytes (413), and a client that
# stops sending in the middle of one gets a 408 after this many seconds (bodylimit.py).
PLUGIT_MAX_BODY = env_str("PLUGIT_MAX_BODY", str(10 * 1024 * 1024))
PLUGIT_BODY_TIMEOUT = env_str("PLUGIT_BODY_TIMEOUT", "30")

# -- The hosted platform (`plugit platform serve`) -------------------------------------------
# How often a process looks for changed projects in the database (one cheap query), and how
# long it keeps a user's memberships in the cache (changes also evict them at once).
PLUGIT_PROJECTS_REFRESH = float(env_str("PLUGIT_PROJECTS_REFRESH", "2"))
PLUGIT_ACCOUNT_CACHE_SECONDS = int(env_str("PLUGIT_ACCOUNT_CACHE_SECONDS", "60"))
# Each project on an origin of its own, `<slug>.<this domain>` (docs/operating-a-platform.md);
# unset: every project under `/p/<slug>/` on the platform's one origin (all trusted).
PLUGIT_PROJECTS_DOMAIN = env_str("PLUGIT_PROJECTS_DOMAIN").strip().strip(".").lower()
# Failed API-key checks allowed per client address and window, before answers turn to 429.
PLUGIT_API_KEY_FAILURES = int(env_str("PLUGIT_API_KEY_FAILURES", "20"))
PLUGIT_API_KEY_WINDOW = int(env_str("PLUGIT_API_KEY_WINDOW", "60"))
