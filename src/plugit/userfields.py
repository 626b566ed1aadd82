"""The user fields of the protocol's default allow-list, declared once for every user record.

The SDK's API client, the proxy's identities and the standalone simulation each keep their own
user type (each has its own job); they share these declarations rather than spelling them again.
"""

from __future__ import annotations

import dataclasses

__all__ = ["UserFlags", "UserProfile"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserProfile:
    """Who the user is: the text fields of `DEFAULT_USER_FIELDS`."""

    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserFlags:
    """The user's standing in the project and its organisation: `USER_FLAG_FIELDS`."""

    ebuio_member: bool = False
    ebuio_admin: bool = False
    ebuio_orga_member: bool = False
    ebuio_orga_admin: bool = False
