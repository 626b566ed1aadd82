"""The admin's login form, under the same rate limits as the accounts' (django-allauth's).

Each POST counts against allauth's `login` limit (per address); each failed one against its
`login_failed` limit, per address and per account, with the key allauth itself uses: wrong
passwords typed into either form add up. Past a limit the form answers 429, even to the right
password, until the window has passed.
"""

from __future__ import annotations

from typing import Any

from allauth.core import ratelimit
from django.contrib import admin
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect

__all__ = ["admin_login"]

LOGIN = "login"
LOGIN_FAILED = "login_failed"


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
    """Serve the admin's login view, refusing with 429 past allauth's login limits."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    key = failed_login_key(request, request.POST.get("username", ""))
    if not ratelimit.consume(request, action=LOGIN) or not ratelimit.consume(
        request, action=LOGIN_FAILED, key=key, dry_run=True
    ):
        return ratelimit.respond_429(request)
    response: HttpResponseBase = admin.site.login(request, extra_context)
    if not isinstance(response, HttpResponseRedirect):  # the form again: a failed attempt
        ratelimit.consume(request, action=LOGIN_FAILED, key=key)
    return response


def failed_login_key(request: HttpRequest, login: str) -> str:
    """The key of allauth's per-account `login_failed` limit for `login`."""
    return f"{get_current_site(request).domain}:{login.lower()}"
