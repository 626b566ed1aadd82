"""Django's URLs: the standalone proxy's root redirect and API, or the platform's pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic.base import RedirectView

from .config import STANDALONE_MOUNT

urlpatterns: list[URLPattern | URLResolver]
if settings.PLUGIT_MODE == "platform":
    from .platform.adminlogin import admin_login

    # The hosted platform: home, accounts, the admin (its login form rate limited as the
    # accounts' is), each project's API (the ASGI application checked the project's key and
    # took it out of the path).
    urlpatterns = [
        path("", include("plugit_proxy.platform.urls")),
        path("accounts/", include("allauth.urls")),
        path("admin/login/", admin_login),
        path("admin/", admin.site.urls),
        re_path(r"^p/[-\w]+/ebuio_api/", include("plugit_proxy.api.urls")),
    ]
else:
    urlpatterns = [
        path("", RedirectView.as_view(url=STANDALONE_MOUNT, permanent=False)),
        path(STANDALONE_MOUNT.strip("/") + "/ebuio_api/", include("plugit_proxy.api.urls")),
    ]
