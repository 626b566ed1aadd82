"""The API views: users, organisations, members, subscriptions, mail.

The ASGI application puts the runtime and the project in the request's scope, so a view
serves the project whose API root was called, with that project's allow-list of user fields.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..config import Project
from ..identity import IdentityProvider, Organisation, User
from ..mail.conf import MailSettings, mail_settings
from ..mail.form import MailForm, MailLimitError, MailRefused, check_length, read_form
from ..mail.outbox import accept

logger = logging.getLogger("plugit_proxy.api")

P = ParamSpec("P")


def _context(request: HttpRequest) -> tuple[Project, IdentityProvider] | None:
    scope: dict[str, Any] = getattr(request, "scope", {})
    runtime = scope.get("plugit.runtime")
    project = scope.get("plugit.project")
    if runtime is None or project is None:
        return None
    return project, runtime.identities


def _not_found(what: str) -> JsonResponse:
    return JsonResponse({"error": f"{what} not found"}, status=404)


def for_project(
    view: Callable[Concatenate[HttpRequest, Project, IdentityProvider, P], Awaitable[HttpResponse]],
) -> Callable[Concatenate[HttpRequest, P], Coroutine[Any, Any, HttpResponse]]:
    """Give `view` the project whose API was called and its identities; 404 without one."""

    @functools.wraps(view)
    async def with_project(
        request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        found = _context(request)
        if found is None:
            return _not_found("project")
        return await view(request, *found, *args, **kwargs)

    return with_project


def user_json(user: User, project: Project) -> dict[str, Any]:
    """Give a user as the API shows it: allowed fields, `id` = str(pk), and `orgas`."""
    data = user.fields(project.user_fields)
    data["id"] = str(user.pk)
    data["orgas"] = [
        {"id": orga.pk, "name": orga.name, "codops": orga.codops, "is_admin": orga.is_admin}
        for orga in user.orgas
    ]
    return data


def accepts(project: Project, orga: Organisation) -> bool:
    """Tell whether the project accepts the organisation (its limits, if it has any)."""
    return project.allowed_orgas is None or orga.pk in project.allowed_orgas


def orga_json(orga: Organisation) -> dict[str, Any]:
    return {"id": orga.pk, "name": orga.name, "codops": orga.codops}


@require_GET
@for_project
async def user(
    request: HttpRequest, project: Project, identities: IdentityProvider, key: str
) -> HttpResponse:
    """`GET user/<pk or uuid>`."""
    person = await identities.get_user(project, key)
    return _not_found("user") if person is None else JsonResponse(user_json(person, project))


@require_GET
@for_project
async def subscriptions(
    request: HttpRequest, project: Project, identities: IdentityProvider, pk: str
) -> HttpResponse:
    """`GET subscriptions/<pk>`: the user's subscription labels for this project."""
    return JsonResponse(await identities.get_subscriptions(project, int(pk)), safe=False)


@require_GET
@for_project
async def orga(
    request: HttpRequest, project: Project, identities: IdentityProvider, pk: str
) -> HttpResponse:
    """`GET orga/<pk>`."""
    organisation = await identities.get_orga(int(pk))
    if organisation is None or not accepts(project, organisation):
        return _not_found("organisation")
    return JsonResponse(
        {"pk": organisation.pk, "name": organisation.name, "codops": organisation.codops}
    )


@require_GET
@for_project
async def orgas(
    request: HttpRequest, project: Project, identities: IdentityProvider
) -> HttpResponse:
    """`GET orgas/`."""
    accepted = [orga for orga in await identities.get_orgas() if accepts(project, orga)]
    return JsonResponse({"data": [orga_json(orga) for orga in accepted]})


@require_GET
@for_project
async def members(
    request: HttpRequest, project: Project, identities: IdentityProvider
) -> HttpResponse:
    """`GET members/`: the project's members."""
    people = await identities.get_members(project)
    return JsonResponse({"members": [user_json(person, project) for person in people]})


def _refused(refusal: MailRefused) -> JsonResponse:
    answer = JsonResponse(refusal.json(), status=refusal.status)
    if isinstance(refusal, MailLimitError) and refusal.retry_after:
        answer["Retry-After"] = str(refusal.retry_after)
    return answer


def _mail_form(request: HttpRequest, conf: MailSettings) -> MailForm:
    check_length(request.META.get("CONTENT_LENGTH"), conf)
    try:
        return read_form(request.POST, conf)
    except RequestDataTooBig:
        raise MailLimitError(
            "DATA_UPLOAD_MAX_MEMORY_SIZE", "the request is too large", status=413
        ) from None
    except TooManyFieldsSent:
        raise MailLimitError(
            "DATA_UPLOAD_MAX_NUMBER_FIELDS", "the request has too many fields", status=413
        ) from None


@csrf_exempt
@require_POST
@for_project
async def mail(
    request: HttpRequest, project: Project, identities: IdentityProvider
) -> HttpResponse:
    """`POST mail/`: check the mail, put it in the durable outbox, answer at once."""
    conf = mail_settings()
    try:
        form = _mail_form(request, conf)
        message = await sync_to_async(accept)(project.key, form, conf)
    except MailRefused as refusal:
        return _refused(refusal)
    logger.info("mail %s queued for %s to %d recipients", message.pk, project.key, len(form.dests))
    return JsonResponse({})
