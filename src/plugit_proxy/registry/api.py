"""The API call of self-registration: `<mount>ebuio_api/instances/` with the project's key.

    POST   instances/  {"url": "http://10.0.0.5:5000/", "version": "dev"}   register, heartbeat
    DELETE instances/  {"url": "http://10.0.0.5:5000/", "version": "dev"}   deregister

A POST registers the instance (201) or refreshes its heartbeat (200); both answer the
instance, whether it is approved, the TTL and the heartbeat interval the service should keep.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from plugit.exceptions import ConfigurationError

from ..api.views import for_project
from ..config import PRODUCTION, Project, normalise_service_url
from ..identity import IdentityProvider
from ..versionrouting import check_version_name
from .instances import deregister, register, registry_settings

__all__ = ["instances"]

MAX_URL = 500


@csrf_exempt
@for_project
async def instances(
    request: HttpRequest, project: Project, identities: IdentityProvider
) -> HttpResponse:
    """Register, refresh or deregister an instance of the project."""
    project_pk = getattr(project, "pk", None)
    if not isinstance(project_pk, int):
        return JsonResponse(
            {"error": "self-registration is for the projects of a hosted platform"}, status=404
        )
    if request.method not in ("POST", "DELETE"):
        return JsonResponse({"error": "use POST to register, DELETE to leave"}, status=405)
    try:
        version, url = _announcement(request.body)
    except ConfigurationError as error:  # the body names no usable instance
        return JsonResponse({"error": str(error)}, status=400)
    if request.method == "DELETE":
        known = await sync_to_async(deregister)(project_pk, version, url)
        return JsonResponse({"deregistered": known}, status=200 if known else 404)
    done = await sync_to_async(register)(project_pk, version, url)
    ttl, _ = registry_settings()
    instance = done.instance
    answer = {
        "url": instance.url,
        "version": instance.version,
        "approved": instance.approved,
        "ttl": ttl,
        "heartbeat": round(ttl / 3, 3),
    }
    return JsonResponse(answer, status=201 if done.created else 200)


def _announcement(body: bytes) -> tuple[str, str]:
    """Read `{"url": ..., "version": ...}` (version: production when absent)."""
    try:
        data: Any = json.loads(body or b"{}")
    except ValueError:
        raise ConfigurationError('the body must be JSON: {"url": "http://host:port/"}') from None
    if not isinstance(data, dict):
        raise ConfigurationError('the body must be a JSON object: {"url": "http://host:port/"}')
    url, version = data.get("url"), data.get("version") or PRODUCTION
    if not isinstance(url, str) or not isinstance(version, str):
        raise ConfigurationError('give the instance\'s base URL: {"url": "http://host:port/"}')
    url = normalise_service_url(url.strip())
    if version != PRODUCTION:
        check_version_name(version, "version")
    if len(url) > MAX_URL:
        raise ConfigurationError(f"the URL is longer than {MAX_URL} characters")
    return version, url
