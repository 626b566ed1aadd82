"""The names existing services import: `from plugit.utils import action, cache, ...`.

Besides the decorators and results, the original's two file helpers live here.
"""

from __future__ import annotations

import hashlib
import os

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
    "add_unique_postfix",
    "address_in_networks",
    "cache",
    "crossdomain",
    "get_session_from_request",
    "json_only",
    "md5Checksum",
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


def md5Checksum(path: str | os.PathLike[str]) -> str:  # the original's camelCase name
    """The hex MD5 digest of a file's bytes, read in chunks (never whole in memory)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(64 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def add_unique_postfix(filename: str) -> str:
    """`filename` if no file has it, else the first free `name_1.ext`, `name_2.ext`, ..."""
    if not os.path.lexists(filename):
        return filename
    stem, extension = os.path.splitext(filename)
    number = 1
    while os.path.lexists(f"{stem}_{number}{extension}"):
        number += 1
    return f"{stem}_{number}{extension}"
