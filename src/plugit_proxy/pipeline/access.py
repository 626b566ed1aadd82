"""Step 2: the meta's access rules; a refusal names the rule that refused."""

from __future__ import annotations

import ipaddress

from plugit.protocol import ACCESS_RULES, NETWORK_RULE, Meta

from ..identity import Identity
from .state import PageError

__all__ = ["LoginRequired", "check_access", "refused_rule", "restricted"]

_RULE_FIELDS = {
    "only_logged_user": None,
    "only_member_user": "ebuio_member",
    "only_admin_user": "ebuio_admin",
    "only_orga_member_user": "ebuio_orga_member",
    "only_orga_admin_user": "ebuio_orga_admin",
}

_RULE_TEXT = {
    "only_logged_user": "You must be signed in to see this page.",
    "only_member_user": "Only members of this project may see this page.",
    "only_admin_user": "Only administrators of this project may see this page.",
    "only_orga_member_user": "Only members of the current organisation may see this page.",
    "only_orga_admin_user": "Only administrators of the current organisation may see this page.",
    NETWORK_RULE: "This page cannot be seen from your network address.",
    "organisation": "You must belong to an organisation to see this page.",
}


def restricted(meta: Meta) -> bool:
    """Tell whether some only_* rule limits the page to some users."""
    return any(meta.get(rule) for rule in ACCESS_RULES)


def refused_rule(meta: Meta, identity: Identity, address: str, orga_mode: bool) -> str | None:
    """Return the name of the first rule the request breaks, or None."""
    user = identity.user
    for rule in ACCESS_RULES:
        if not meta.get(rule):
            continue
        field = _RULE_FIELDS[rule]
        allowed = user.is_authenticated and (field is None or bool(getattr(user, field)))
        if not allowed:
            return rule
    networks = meta.get(NETWORK_RULE)
    if networks is not None and not address_in(address, networks):
        return NETWORK_RULE
    if orga_mode and identity.orga is None and not meta.get("public"):
        return "organisation"
    return None


class LoginRequired(PageError):
    """An anonymous user needs to sign in first: the handler redirects to `login_url`."""

    def __init__(self, login_url: str, rule: str) -> None:
        super().__init__(403, "Access denied", f"{_RULE_TEXT[rule]} (rule: {rule})")
        self.login_url = login_url


# Rules that signing in may satisfy (the network rule never is one).
_SIGN_IN_RULES = frozenset({*_RULE_FIELDS, "organisation"})


def check_access(meta: Meta, identity: Identity, address: str, orga_mode: bool) -> None:
    """Raise the 403 page naming the broken rule (a sign-in redirect when that may help)."""
    rule = refused_rule(meta, identity, address, orga_mode)
    if rule is None:
        return
    if identity.login_url and not identity.user.is_authenticated and rule in _SIGN_IN_RULES:
        raise LoginRequired(identity.login_url, rule)
    raise PageError(403, "Access denied", f"{_RULE_TEXT[rule]} (rule: {rule})")


def address_in(address: str, networks: list[str]) -> bool:
    """Tell whether `address` lies in one of the CIDR `networks` (IPv4 or IPv6)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False
