"""The names existing services import: `from plugit.utils import action, cache, ...`."""

from plugit.actions import (
    action,
    address_in_networks,
    cache,
    crossdomain,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    send_etag,
    user_info,
    xml_only,
)
from plugit.exceptions import abort
from plugit.responses import PlugItRedirect, PlugItSendFile, PlugItSetSession
from plugit.session import get_session_from_request

__all__ = [
    "PlugItRedirect",
    "PlugItSendFile",
    "PlugItSetSession",
    "abort",
    "action",
    "address_in_networks",
    "cache",
    "crossdomain",
    "get_session_from_request",
    "json_only",
    "no_template",
    "only_admin_user",
    "only_logged_user",
    "only_member_user",
    "only_orga_admin_user",
    "only_orga_member_user",
    "public",
    "send_etag",
    "user_info",
    "xml_only",
]
