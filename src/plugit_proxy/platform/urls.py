"""The platform's own pages (the accounts' pages come from django-allauth)."""

from __future__ import annotations

from django.urls import path

from . import handoff, statuspage, views

# `handoff` also listens for sign-outs (they end the project sessions handed off to).
urlpatterns = [
    path("", views.home, name="platform_home"),
    path("accounts/handoff/<slug:slug>/", handoff.handoff, name="platform_handoff"),
    path("status/", statuspage.status_page, name="platform_status"),
]
