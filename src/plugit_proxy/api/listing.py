"""`GET <API root>`: a page listing the API's calls, as the original proxy showed one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from .calls import CALLS

__all__ = ["index"]


@csrf_exempt  # read-only: another method is a 405, not a CSRF refusal
@require_GET
async def index(request: HttpRequest) -> HttpResponse:
    """List the calls under this API root: path, method, and what each answers."""
    scope: dict[str, Any] = getattr(request, "scope", {})
    project = scope.get("plugit.project")
    context = {
        "root": request.path,  # the key, when it came in the path, was taken out of it
        "calls": CALLS,
        "project_name": project.name if project is not None else "",
        "needs_key": project is not None and project.api_key_hash is not None,
        "platform_name": settings.PLUGIT_PLATFORM_NAME,
        "STATIC_URL": settings.STATIC_URL,
    }
    return HttpResponse(render_to_string("plugit_api/index.html", context))
