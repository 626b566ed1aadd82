"""The platform's own pages (the accounts' pages come from django-allauth)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("", views.home, name="platform_home")]
