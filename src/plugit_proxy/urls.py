"""Django's URLs: the root redirect and the services' API of the standalone proxy."""

from __future__ import annotations

from django.urls import include, path
from django.views.generic.base import RedirectView

from .config import STANDALONE_MOUNT

urlpatterns = [
    path("", RedirectView.as_view(url=STANDALONE_MOUNT, permanent=False)),
    path(STANDALONE_MOUNT.strip("/") + "/ebuio_api/", include("plugit_proxy.api.urls")),
]
