"""The API's routes, relative to a project's API root (pks may be negative: simulated ones)."""

from __future__ import annotations

from django.urls import re_path

from ..registry import api as registry_api
from . import listing, views

app_name = "plugit_api"

urlpatterns = [
    re_path(r"^$", listing.index),
    re_path(r"^user/(?P<key>[-\w]+)/?$", views.user),
    re_path(r"^subscriptions/(?P<pk>-?\d+)/?$", views.subscriptions),
    re_path(r"^orga/(?P<pk>-?\d+)/?$", views.orga),
    re_path(r"^orgas/?$", views.orgas),
    re_path(r"^members/?$", views.members),
    re_path(r"^mail/?$", views.mail),
    re_path(r"^instances/?$", registry_api.instances),
]
