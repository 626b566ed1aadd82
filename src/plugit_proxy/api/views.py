"""The API views: users, organisations, members, subscriptions, mail.

The ASGI application puts the runtime and the project in the request's scope, so a view
serves the project whose API root was called, with that project's allow-list of user fields.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..config import Project
from ..identity import IdentityProvider, Organisation, User

logger = logging.getLogger("plugit_proxy.api")

MAIL_TOKEN_SALT = "plugit.mail.reply"  # noqa: S105 - a salt, not a secret


def _context(request: HttpRequest) -> tuple[Project, IdentityProvider] | None:
    scope: dict[str, Any] = getattr(request, "scope", {})
    runtime = scope.get("plugit.runtime")
    project = scope.get("plugit.project")
    if runtime is None or project is None:
        return None
    return project, runtime.identities


def _not_found(what: str) -> JsonResponse:
    return JsonResponse({"error": f"{what} not found"}, status=404)


def user_json(user: User, project: Project) -> dict[str, Any]:
    """Give a user as the API shows it: allowed fields, `id` = str(pk), and `orgas`."""
    data = user.fields(project.user_fields)
    data["id"] = str(user.pk)
    data["orgas"] = [
        {"id": orga.pk, "name": orga.name, "codops": orga.codops, "is_admin": orga.is_admin}
        for orga in user.orgas
    ]
    return data


def orga_json(orga: Organisation) -> dict[str, Any]:
    return {"id": orga.pk, "name": orga.name, "codops": orga.codops}


@require_GET
async def user(request: HttpRequest, key: str) -> HttpResponse:
    """`GET user/<pk or uuid>`."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    project, identities = found
    person = await identities.get_user(project, key)
    return _not_found("user") if person is None else JsonResponse(user_json(person, project))


@require_GET
async def subscriptions(request: HttpRequest, pk: str) -> HttpResponse:
    """`GET subscriptions/<pk>`: the user's subscription labels for this project."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    project, identities = found
    return JsonResponse(await identities.get_subscriptions(project, int(pk)), safe=False)


@require_GET
async def orga(request: HttpRequest, pk: str) -> HttpResponse:
    """`GET orga/<pk>`."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    organisation = await found[1].get_orga(int(pk))
    if organisation is None:
        return _not_found("organisation")
    return JsonResponse(
        {"pk": organisation.pk, "name": organisation.name, "codops": organisation.codops}
    )


@require_GET
async def orgas(request: HttpRequest) -> HttpResponse:
    """`GET orgas/`."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    return JsonResponse({"data": [orga_json(o) for o in await found[1].get_orgas()]})


@require_GET
async def members(request: HttpRequest) -> HttpResponse:
    """`GET members/`: the project's members."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    project, identities = found
    people = await identities.get_members(project)
    return JsonResponse({"members": [user_json(person, project) for person in people]})


def reply_address(project: Project, response_id: str) -> str:
    """Make the Reply-To of a mail whose answers go back to the service (signed token)."""
    signer = signing.Signer(salt=MAIL_TOKEN_SALT, sep=".")
    token = signer.sign_object({"p": project.key, "r": response_id})
    local, _, domain = settings.DEFAULT_FROM_EMAIL.partition("@")
    return f"{local}+{token}@{domain}"


@csrf_exempt
@require_POST
async def mail(request: HttpRequest) -> HttpResponse:
    """`POST mail/`: send a mail for the service (through Django's mail backend)."""
    found = _context(request)
    if found is None:
        return _not_found("project")
    project = found[0]
    form = request.POST
    message = EmailMultiAlternatives(
        subject=form.get("subject", ""),
        body=form.get("message", ""),
        from_email=form.get("sender") or settings.DEFAULT_FROM_EMAIL,
        to=form.getlist("dests"),
    )
    if form.get("html_message", "").lower() in {"1", "true", "yes", "on"}:
        message.attach_alternative(form.get("message", ""), "text/html")
    if form.get("response_id"):
        message.reply_to = [reply_address(project, form["response_id"])]
    await sync_to_async(message.send)()
    logger.info(
        "mail %r sent for %s to %d recipients", message.subject, project.key, len(message.to)
    )
    return JsonResponse({})
