"""The PlugIt wire contract (protocol version 1): every name both sides must spell alike.

Paths, headers, parameter names and meta keys are fixed byte for byte by existing services
and proxies; this module is the only place they are written down. The service SDK and the
proxy both import it.
"""

from __future__ import annotations

from typing import Final, Literal, Required, TypedDict

__all__ = [
    "ACCESS_RULES",
    "CSRF_FORM_FIELD",
    "CSRF_TOKEN_PLACEHOLDER",
    "DEFAULT_META_MAX_AGE",
    "DEFAULT_USER_FIELDS",
    "ERROR_TRACEBACK_KEY",
    "ETAG_RESULT_KEY",
    "FORWARDED_BROWSER_HEADERS",
    "HEADER_AC_REQUEST_HEADERS",
    "HEADER_AC_REQUEST_METHOD",
    "HEADER_BASE_URL",
    "HEADER_GUARD_REFUSED",
    "HEADER_IF_NONE_MATCH",
    "HEADER_IS_FILE",
    "HEADER_META_EXPIRE",
    "HEADER_NO_TEMPLATE",
    "HEADER_ORGA_CODOPS",
    "HEADER_ORGA_NAME",
    "HEADER_ORGA_PK",
    "HEADER_ORIGIN",
    "HEADER_REDIRECT",
    "HEADER_REDIRECT_NO_PREFIX",
    "HEADER_REMOTE_ADDR",
    "HEADER_REQUEST_ID",
    "HEADER_SESSION_PREFIX",
    "HEADER_SET_SESSION_PREFIX",
    "HEADER_TEMPLATE_FILE",
    "HEADER_USER_PREFIX",
    "NETWORK_RULE",
    "ORGA_FIELDS",
    "ORGA_PK_PARAM",
    "PASSED_ANSWER_HEADERS",
    "PASS_THROUGH_STATUSES",
    "PATH_ACTION",
    "PATH_DEV_ROUTES",
    "PATH_MAIL",
    "PATH_MEDIA",
    "PATH_META",
    "PATH_PING",
    "PATH_TEMPLATE",
    "PATH_VERSION",
    "PROTOCOL_NAME",
    "PROTOCOL_VERSION",
    "PROXY_META_FALLBACK_MAX_AGE",
    "RESERVED_PARAM_PREFIX",
    "USER_FLAG_FIELDS",
    "USER_PARAM_PREFIX",
    "AccessRule",
    "Meta",
    "decode_bool",
    "encode_bool",
    "session_header",
    "user_field_header",
]

PROTOCOL_NAME: Final = "EBUio-PlugIt"
PROTOCOL_VERSION: Final = "1"

# -- Service endpoints, relative to the service's PI_BASE_URL --------------------------------
PATH_PING: Final = "ping"
PATH_VERSION: Final = "version"
PATH_MAIL: Final = "mail"
PATH_META: Final = "meta"  # followed by the action's route: meta/show/3
PATH_TEMPLATE: Final = "template"
PATH_ACTION: Final = "action"
PATH_MEDIA: Final = "media/"
# Ours, not the original's: a service in DEBUG lists its actions here (for `plugit check`).
# The leading underscore keeps it apart from every path above, a route's included.
PATH_DEV_ROUTES: Final = "_plugit/routes"

# -- Headers a service answers with ----------------------------------------------------------
HEADER_REDIRECT: Final = "EbuIo-PlugIt-Redirect"
HEADER_REDIRECT_NO_PREFIX: Final = "EbuIo-PlugIt-Redirect-NoPrefix"
HEADER_IS_FILE: Final = "EbuIo-PlugIt-ItAFile"
HEADER_SET_SESSION_PREFIX: Final = "EbuIo-PlugIt-SetSession-"
HEADER_NO_TEMPLATE: Final = "EbuIo-PlugIt-NoTemplate"
HEADER_META_EXPIRE: Final = "Expire"  # sic: not "Expires"

# -- Optional extensions (docs/protocol.md, "Optional extensions"): a proxy may ignore them ----
# On the network guard's 404: the refused address (with DEBUG), else "hidden".
HEADER_GUARD_REFUSED: Final = "X-Plugit-Guard-Refused"
# On `GET template<route>`: the template's file name, percent-encoded UTF-8.
HEADER_TEMPLATE_FILE: Final = "X-Plugit-Template-File"
# In the JSON body of an action's 500, with DEBUG: the service's traceback text.
ERROR_TRACEBACK_KEY: Final = "traceback"
# On every call (meta, template, action, media) and every browser answer: the request's id.
HEADER_REQUEST_ID: Final = "X-Request-ID"

# -- Headers the proxy sends with a call -----------------------------------------------------
HEADER_REMOTE_ADDR: Final = "X-Plugit-Remote-Addr"
HEADER_IF_NONE_MATCH: Final = "X-Plugit-If-None-Match"
HEADER_ORIGIN: Final = "X-Plugit-Origin"
HEADER_AC_REQUEST_METHOD: Final = "X-Plugit-Access-Control-Request-Method"
HEADER_AC_REQUEST_HEADERS: Final = "X-Plugit-Access-Control-Request-Headers"
HEADER_SESSION_PREFIX: Final = "X-Plugitsession-"
HEADER_USER_PREFIX: Final = "X-Plugit-User-"
HEADER_ORGA_PK: Final = "X-Plugit-Orga-Pk"
HEADER_ORGA_NAME: Final = "X-Plugit-Orga-Name"
HEADER_ORGA_CODOPS: Final = "X-Plugit-Orga-Codops"
HEADER_BASE_URL: Final = "X-Plugit-Base-Url"

# Browser request headers the proxy forwards, renamed with the X-Plugit- prefix.
FORWARDED_BROWSER_HEADERS: Final = {
    "If-None-Match": HEADER_IF_NONE_MATCH,
    "Origin": HEADER_ORIGIN,
    "Access-Control-Request-Method": HEADER_AC_REQUEST_METHOD,
    "Access-Control-Request-Headers": HEADER_AC_REQUEST_HEADERS,
}

# Answer headers the proxy passes from a service to the browser.
PASSED_ANSWER_HEADERS: Final = (
    "ETag",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
)

# -- Parameters --------------------------------------------------------------------------------
RESERVED_PARAM_PREFIX: Final = "ebuio_"  # a browser may never set these
USER_PARAM_PREFIX: Final = "ebuio_u_"
ORGA_PK_PARAM: Final = "ebuio_orgapk"
ETAG_RESULT_KEY: Final = "_plugit_etag"
CSRF_FORM_FIELD: Final = "csrfmiddlewaretoken"
CSRF_TOKEN_PLACEHOLDER: Final = "{~__PLUGIT_CSRF_TOKEN__~}"  # noqa: S105 - not a secret

DEFAULT_USER_FIELDS: Final = (
    "username",
    "id",
    "pk",
    "first_name",
    "last_name",
    "email",
    "ebuio_member",
    "ebuio_admin",
    "ebuio_orga_member",
    "ebuio_orga_admin",
)
# The flags among them (booleans); the others are text, but `pk`.
USER_FLAG_FIELDS: Final = ("ebuio_member", "ebuio_admin", "ebuio_orga_member", "ebuio_orga_admin")
# An organisation's fields (the API's lists name `pk` `id`; a user's `orgas` add `is_admin`).
ORGA_FIELDS: Final = ("pk", "name", "codops")

# -- Status codes ------------------------------------------------------------------------------
PASS_THROUGH_STATUSES: Final = frozenset({304, 401, 403, 404, 429})

# -- Caching -----------------------------------------------------------------------------------
DEFAULT_META_MAX_AGE: Final = 300  # service side, without DEBUG or PI_META_CACHE
PROXY_META_FALLBACK_MAX_AGE: Final = 300  # proxy side, when the Expire header is missing

# -- The meta object ---------------------------------------------------------------------------
AccessRule = Literal[
    "only_logged_user",
    "only_member_user",
    "only_admin_user",
    "only_orga_member_user",
    "only_orga_admin_user",
]
ACCESS_RULES: Final[tuple[AccessRule, ...]] = (
    "only_logged_user",
    "only_member_user",
    "only_admin_user",
    "only_orga_member_user",
    "only_orga_admin_user",
)
NETWORK_RULE: Final = "address_in_networks"


class Meta(TypedDict, total=False):
    """What `GET meta<route>` answers: `template_tag` plus the keys the decorators set."""

    template_tag: Required[str]
    only_logged_user: bool
    only_member_user: bool
    only_admin_user: bool
    only_orga_member_user: bool
    only_orga_admin_user: bool
    cache_time: int
    cache_by_user: bool | None
    user_info: list[str]
    public: bool
    json_only: bool
    xml_only: bool
    no_template: bool
    address_in_networks: list[str]


def encode_bool(value: bool) -> str:
    """Spell a boolean the way the protocol carries it in parameters and headers."""
    return "True" if value else "False"


def decode_bool(value: str | None) -> bool:
    """Read a protocol boolean (`True`/`False`, any case); absent means False."""
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


def user_field_header(field: str) -> str:
    """Name the proxy-mode header for a user field: `first_name` -> `X-Plugit-User-First-Name`."""
    words = field.replace("_", "-").split("-")
    return HEADER_USER_PREFIX + "-".join(word.capitalize() for word in words)


def session_header(key: str) -> str:
    """Name the header that carries a stored session value to a service."""
    return HEADER_SESSION_PREFIX + key
