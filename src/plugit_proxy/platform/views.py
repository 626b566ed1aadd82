"""The platform's own pages: the home page listing the projects a user can open."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import models
from .projects import mount_of

__all__ = ["home", "platform_context", "visible_projects"]


def platform_context(request: HttpRequest) -> dict[str, Any]:
    """Give every Django page the platform's name, and whether it has account pages."""
    return {
        "platform_name": settings.PLUGIT_PLATFORM_NAME,
        "platform_accounts": settings.PLUGIT_MODE == "platform",
    }


def visible_projects(user: Any) -> list[models.Project]:
    """The projects `user` may open, by name (a project needs a service to be served)."""
    served = models.Project.objects.filter(services__isnull=False).distinct()
    if not user.is_authenticated:
        return list(served.filter(visibility=models.Visibility.PUBLIC))
    return list(
        served.filter(
            ~Q(visibility=models.Visibility.MEMBERS) | Q(projectmembership__user=user)
        ).distinct()
    )


def home(request: HttpRequest) -> HttpResponse:
    """List the projects the user can open, with links to sign in or out."""
    projects = [
        {"name": project.name, "slug": project.slug, "url": mount_of(project.slug)}
        for project in visible_projects(request.user)
    ]
    return render(request, "platform/home.html", {"projects": projects})
