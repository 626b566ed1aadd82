"""The standalone proxy's switchers: `ebuio_setUser` and `ebuio_setOrga` (docs/protocol.md §7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response

from ..identity import OrganisationSwitching, UserSimulation
from .action import read_form
from .state import Page, PageError, not_found
from .version import set_opted_version

__all__ = ["SWITCHERS", "VERSION_SWITCH", "set_orga", "set_user", "set_version"]

VERSION_SWITCH = "/ebuio_setVersion"


def _provider(page: Page) -> UserSimulation:
    provider = page.runtime.identities
    if not isinstance(provider, UserSimulation):
        raise not_found()  # real accounts: nothing to simulate
    return provider


# `none`: typed, bookmarked or opened from outside any page; `same-origin`: the proxy's own links.
ALLOWED_FETCH_SITES = frozenset({"none", "same-origin"})


def _check_same_origin(page: Page) -> None:
    """Refuse a switch another site asked for: a GET that changes state must come from here.

    Browsers say where a request comes from in `Sec-Fetch-Site`; older ones only in `Origin`
    or `Referer`, compared with the host the browser asked for. A request saying nothing
    (a script or tool of the developer's own) passes.
    """
    headers = page.request.headers
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.lower() not in ALLOWED_FETCH_SITES:
            raise _cross_site()
        return
    source = headers.get("origin") or headers.get("referer")
    if source is not None and urlsplit(source).netloc.lower() != headers.get("host", "").lower():
        raise _cross_site()


def _cross_site() -> PageError:
    return PageError(403, "Forbidden", "This switch may only be used from this site's own pages.")


def _back(page: Page, target: str | None = None, *, status: int = 302) -> Response:
    if target is None:
        target = page.request.query_params.get("next", "")
    # Only a path on this site: never an open redirect.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = page.project.mount
    return RedirectResponse(target, status_code=status)


async def set_user(page: Page) -> Response:
    """Switch the simulated user (`mode`: ano, log, mem, adm)."""
    provider = _provider(page)
    _check_same_origin(page)
    try:
        await provider.set_user_mode(page.session, page.request.query_params.get("mode", ""))
    except ValueError as error:
        raise PageError(400, "Bad request", str(error)) from None
    return _back(page)


async def set_orga(page: Page) -> Response:
    """Switch the organisation: a real user's own (`orga`), or the simulated one (`pk`, ...)."""
    _check_same_origin(page)
    if isinstance(page.runtime.identities, OrganisationSwitching):
        return await _switch_own_orga(page, page.runtime.identities)
    provider = _provider(page)
    params = page.request.query_params
    try:
        await provider.simulate_orga(
            page.session, params.get("pk", ""), params.get("name", ""), params.get("codops", "")
        )
    except ValueError:
        raise PageError(400, "Bad request", "pk must be an integer.") from None
    return _back(page)


async def _switch_own_orga(page: Page, provider: OrganisationSwitching) -> Response:
    params = page.request.query_params
    raw = params.get("orga", params.get("pk", ""))
    try:
        pk = int(raw)
    except ValueError:
        raise PageError(400, "Bad request", "orga must be an organisation's pk.") from None
    if not await provider.switch_orga(page.session, page.identity, pk):
        raise PageError(403, "Access denied", f"You do not belong to organisation {pk}.")
    return _back(page)


async def set_version(page: Page) -> Response:
    """Opt in to a version of the project, or back out (`version` empty): a form's POST.

    The handler checked the form's CSRF token before calling this; only a version this user
    is offered (an `opt-in` rule, and they may opt in: versionrouting.may_opt_in) is taken.
    """
    if page.method != "POST":
        raise PageError(405, "Method not allowed", "Switch versions with the header's form.")
    form = await read_form(page)
    wanted = form.get("version", "")
    offered = page.routing.offered if page.routing is not None else ()
    if not isinstance(wanted, str) or (wanted and wanted not in offered):
        raise PageError(403, "Access denied", "You may not opt in to this version.")
    await set_opted_version(page, wanted or None)
    target = form.get("next", "")
    return _back(page, target if isinstance(target, str) else "", status=303)


SWITCHERS = {
    "/ebuio_setUser": set_user,
    "/ebuio_setOrga": set_orga,
    VERSION_SWITCH: set_version,
}
