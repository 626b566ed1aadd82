"""`/status/`: the platform's status for its staff (projects, instances, health, numbers)."""

from __future__ import annotations

import os

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .statusboard import build_status, local_snapshot

__all__ = ["status_page"]


@never_cache
@staff_member_required
def status_page(request: HttpRequest) -> HttpResponse:
    """Every project, its versions and instances, with the numbers this process's metrics hold."""
    rows = build_status(local_snapshot())
    return render(request, "platform/status.html", {"projects": rows, "process": os.getpid()})
