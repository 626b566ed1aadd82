"""Step 2: the meta's access rules (`plugit.pagerules`); a refusal names the rule that refused."""

from __future__ import annotations

from plugit.pagerules import ORGA_RULE, Visitor, refused_rule, restricted
from plugit.protocol import ACCESS_RULES, DEFAULT_USER_FIELDS, NETWORK_RULE, Meta

from ..identity import Identity
from .state import PageError

__all__ = ["LoginRequired", "check_access", "restricted", "visitor"]

_RULE_TEXT = {
    "only_logged_user": "You must be signed in to see this page.",
    "only_member_user": "Only members of this project may see this page.",
    "only_admin_user": "Only administrators of this project may see this page.",
    "only_orga_member_user": "Only members of the current organisation may see this page.",
    "only_orga_admin_user": "Only administrators of the current organisation may see this page.",
    NETWORK_RULE: "This page cannot be seen from your network address.",
    ORGA_RULE: "You must belong to an organisation to see this page.",
}

# Rules that signing in may satisfy (the network rule never is one).
_SIGN_IN_RULES = frozenset({*ACCESS_RULES, ORGA_RULE})


def visitor(identity: Identity, address: str, user_fields: tuple[str, ...] = ()) -> Visitor:
    """Describe the request's user for the page rules: the protocol's fields, `user_fields`."""
    user = identity.user
    names = tuple(dict.fromkeys(DEFAULT_USER_FIELDS + user_fields))
    return Visitor(
        authenticated=user.is_authenticated,
        fields=user.fields(names),
        orga_pk=None if identity.orga is None else identity.orga.pk,
        address=address,
    )


class LoginRequired(PageError):
    """An anonymous user needs to sign in first: the handler redirects to `login_url`."""

    def __init__(self, login_url: str, rule: str) -> None:
        super().__init__(403, "Access denied", f"{_RULE_TEXT[rule]} (rule: {rule})")
        self.login_url = login_url


def check_access(meta: Meta, identity: Identity, address: str, orga_mode: bool) -> None:
    """Raise the 403 page naming the broken rule (a sign-in redirect when that may help)."""
    rule = refused_rule(meta, visitor(identity, address), orga_mode=orga_mode)
    if rule is None:
        return
    if identity.login_url and not identity.user.is_authenticated and rule in _SIGN_IN_RULES:
        raise LoginRequired(identity.login_url, rule)
    raise PageError(403, "Access denied", f"{_RULE_TEXT[rule]} (rule: {rule})")
