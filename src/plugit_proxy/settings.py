"""Django settings of the proxy, derived from its one configuration (plugit_proxy.conf).

Zero setup: with nothing set, the proxy keeps an SQLite database and a generated secret key in
its data directory (`./.plugit/`, or `PLUGIT_DATA_DIR`), caches there too (one cache for
all its worker processes, at most `PLUGIT_CACHE_SIZE_LIMIT` bytes, 256 MiB), and logs
mail to the console. Sessions are kept there too, in a cache folder of their own (the
browser holds only a random key). `PLUGIT_REDIS_URL` moves the cache and the sessions to Redis.
The original PlugIt names (`PIAPI_*`) are accepted where they map.

No variable is read here: `current_configuration()` is the configuration the command line
installed (plugit_proxy.setup.configure), or, for `manage.py`, `django-admin` and the tests,
the one built now from the environment; its data folder is made ready (`prepare_data_dir`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from plugit_proxy.assets import legacy_static_dirs
from plugit_proxy.conf import current_configuration
from plugit_proxy.logformat import django_logging
from plugit_proxy.mail.emailurl import parse_email_url
from plugit_proxy.setup import prepare_data_dir


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


PLUGIT_CONFIGURATION = _CONFIG = current_configuration()
_SERVER, _SECURITY = _CONFIG.server, _CONFIG.security
_DATA = prepare_data_dir(_CONFIG)  # the folder and the secret key file, once per process
DATA_DIR = _DATA.path
SECRET_KEY = _DATA.secret_key
# Earlier secrets, comma-separated, kept while rotating PLUGIT_SECRET_KEY: sessions, signed
# values and API keys made under them still verify (Django's SECRET_KEY_FALLBACKS).
SECRET_KEY_FALLBACKS = list(_SECURITY.secret_key_fallbacks)
# `standalone` (one service, simulated users: `plugit proxy`) or `platform` (projects and
# accounts from the database: `plugit platform serve`).
PLUGIT_MODE = _SERVER.mode
DEBUG = _SERVER.debug
# Where browsers reach the platform (`https://platform.example.org`): every absolute link it
# builds (account mails, redirects) starts with it, never with the request's Host.
PLUGIT_PUBLIC_URL = _SERVER.public_url
ALLOWED_HOSTS = allowed_hosts(PLUGIT_PUBLIC_URL, PLUGIT_MODE, _SERVER.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(_SERVER.csrf_trusted_origins)

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
    "plugit_proxy.registry.apps.RegistryConfig",
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

DATABASE_URL = _CONFIG.database.url
if DATABASE_URL:
    import dj_database_url

    # No persistent connections: the async ORM runs queries in worker threads.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),  # owner only: prepare_data_dir
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = _CONFIG.cache.redis_url
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
            "OPTIONS": {"size_limit": _CONFIG.cache.size_limit},
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
SESSION_ENGINE = _CONFIG.cache.session_engine
# Several platforms (or test runs) may share one Redis: give each its own key prefix.
CACHES["default"]["KEY_PREFIX"] = _CONFIG.cache.prefix
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# -- HTTPS: on with an https:// public URL, else opt-in, so plain HTTP on 127.0.0.1 works ------
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _SECURITY.secure_cookies
SECURE_SSL_REDIRECT = _SECURITY.https_redirect
SECURE_HSTS_SECONDS = _SECURITY.hsts_seconds
if _SECURITY.behind_tls_proxy:  # trust X-Forwarded-Proto from the proxy
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The platform's own (Django) pages: never framed, no sniffing, no script from elsewhere.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
PLUGIT_CONTENT_SECURITY_POLICY = _SECURITY.content_security_policy

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
ACCOUNT_EMAIL_VERIFICATION = _SECURITY.email_verification
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SESSION_COOKIE_SECURE else "http"
ACCOUNT_ADAPTER = "plugit_proxy.platform.accounts.PlatformAccountAdapter"
# Messages live in the session, never in a cookie of their own.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
if not _SECURITY.login_rate_limits:  # allauth's per-IP limits (tests: off)
    ACCOUNT_RATE_LIMITS = False
SOCIALACCOUNT_ONLY = False
# Single sign-on through OpenID Connect, when a provider is configured.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if _SECURITY.oidc is not None:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": _SECURITY.oidc.provider_id,
                "name": _SECURITY.oidc.name,
                "client_id": _SECURITY.oidc.client_id,
                "secret": _SECURITY.oidc.secret,
                "settings": {"server_url": _SECURITY.oidc.server_url},
            }
        ]
    }

STATIC_URL = "/static/"
STATIC_ROOT = _DATA.static_root  # created by prepare_data_dir: WhiteNoise warns without it
# The legacy layout's jQuery and Bootstrap 3 come from their packages; Bootstrap 3's CSS is
# compiled from its Sass sources once per version (prepare_data_dir), before any finder looks.
STATICFILES_DIRS = legacy_static_dirs(_DATA.built_static)
# Static files are answered by plugit_proxy.staticfiles (WhiteNoise, streamed over ASGI).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# -- Mail (plugit_proxy.mail, docs/mail.md): the outbox's server and the platform's address ---
_MAIL = _CONFIG.mail
_EMAIL = parse_email_url(_MAIL.email_url, default_backend=_MAIL.email_backend)
EMAIL_BACKEND = _EMAIL.backend
EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT = _EMAIL.host, _EMAIL.port, _EMAIL.timeout
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _EMAIL.user, _EMAIL.password
EMAIL_USE_TLS, EMAIL_USE_SSL = _EMAIL.use_tls, _EMAIL.use_ssl
EMAIL_FILE_PATH = _EMAIL.file_path or str(DATA_DIR / "mail")
PLUGIT_MAIL_SENDER = _MAIL.sender
DEFAULT_FROM_EMAIL = PLUGIT_MAIL_SENDER
PLUGIT_MAIL_BACKGROUND = _MAIL.background
PLUGIT_MAIL_MAX_ATTEMPTS = _MAIL.max_attempts
PLUGIT_MAIL_REPLY_DAYS = _MAIL.reply_days
PLUGIT_MAIL_ALLOWED_SENDER_DOMAINS = _MAIL.allowed_sender_domains
PLUGIT_MAIL_MAX_RECIPIENTS = _MAIL.max_recipients
PLUGIT_MAIL_MAX_PER_MINUTE = _MAIL.max_per_minute
PLUGIT_MAIL_MAX_MESSAGE_SIZE = _MAIL.max_message_size
PLUGIT_MAIL_RECEIVE_MAX_SIZE = _MAIL.receive_max_size
PLUGIT_MAIL_KEEP_REPLIES_DAYS = _MAIL.keep_replies_days

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
# Off by default: pages are English, and translation lookups in number filters cost ~180 µs of
# a ~900 µs page render (bench/proxy_profile.py). PLUGIT_USE_I18N=1 turns them back on.
USE_I18N = _SERVER.use_i18n

# Text or JSON lines (PLUGIT_LOG_FORMAT), each line with its request's id (logformat.py).
LOGGING = django_logging(_SERVER.log_level, _SERVER.log_format)

# -- The proxy itself (plugit_proxy.fromsettings hands these to the pipeline) ----------------
_STANDALONE = _CONFIG.standalone
PLUGIT_SERVICE_URL = _STANDALONE.service_url
PLUGIT_ORGA_MODE = _STANDALONE.orga_mode
PLUGIT_PROXY_MODE = _STANDALONE.proxy_mode
PLUGIT_MENU_ACTION = _STANDALONE.menu_action or ""
# The page layout: `modern` (Bootstrap 5) or `legacy` (Bootstrap 3 and jQuery).
PLUGIT_LAYOUT = _STANDALONE.layout
PLUGIT_USER_FIELDS = _STANDALONE.user_fields
PLUGIT_HONOR_X_FORWARDED_FOR = _STANDALONE.honor_x_forwarded_for
# With it: how many reverse proxies are in front; the browser's address is that many entries
# from the right of X-Forwarded-For (what the client wrote itself is never believed).
PLUGIT_TRUSTED_PROXIES = _STANDALONE.trusted_proxies
PLUGIT_PLATFORM_NAME = _CONFIG.platform_name
# Every request body (pages, API, admin): at most this many bytes (413), and a client that
# stops sending in the middle of one gets a 408 after this many seconds (bodylimit.py).
PLUGIT_MAX_BODY = _SERVER.max_body
PLUGIT_BODY_TIMEOUT = _SERVER.body_timeout

# -- The hosted platform (`plugit platform serve`) -------------------------------------------
# How often a process looks for changed projects in the database (one cheap query), and how
# long it keeps a user's memberships in the cache (changes also evict them at once).
PLUGIT_PROJECTS_REFRESH = _CONFIG.platform.projects_refresh
PLUGIT_ACCOUNT_CACHE_SECONDS = _CONFIG.platform.account_cache_seconds
# Each project on an origin of its own, `<slug>.<this domain>` (docs/operating-a-platform.md);
# unset: every project under `/p/<slug>/` on the platform's one origin (all trusted).
PLUGIT_PROJECTS_DOMAIN = _CONFIG.platform.projects_domain
# Failed API-key checks allowed per client address and window, before answers turn to 429.
PLUGIT_API_KEY_FAILURES = _CONFIG.platform.api_key_failures
PLUGIT_API_KEY_WINDOW = _CONFIG.platform.api_key_window
