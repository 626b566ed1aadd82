"""Which service owns a project key, asked at delivery time of the running configuration.

Reply routes keep the project's key, never a URL: the URL is looked up when a reply arrives,
so a project that moved its service still gets its replies. On a platform the key is a
project's slug (its services in the database); the standalone proxy has one project,
`standalone`, whose service is PLUGIT_SERVICE_URL.
"""

from __future__ import annotations

from django.conf import settings

from ..config import normalise_service_url

__all__ = ["STANDALONE_KEY", "resolve_service_urls"]

STANDALONE_KEY = "standalone"


def resolve_service_urls(project_key: str) -> tuple[str, ...]:
    """The base URLs of the project's service instances (none: the project is unknown)."""
    from ..platform.models import Project

    project = Project.objects.filter(slug=project_key).prefetch_related("services").first()
    if project is not None:
        return tuple(normalise_service_url(url) for url in project.service_urls)
    standalone = getattr(settings, "PLUGIT_SERVICE_URL", "")
    if project_key == STANDALONE_KEY and standalone:
        return (normalise_service_url(standalone),)
    return ()
