"""An origin per project: `<slug>.<projects domain>`, found by the request's Host.

With `PLUGIT_PROJECTS_DOMAIN` set, each project is served at the root of its own origin, so
a service's script runs beside its own pages only: it cannot read the platform's pages (the
admin, the accounts) nor another project's, and it never sees their cookies. The platform
itself (accounts, admin, the services' API, the project list) stays on its own origin.

Origins keep the scheme and port the browser used: a platform on `http://localhost:8000`
serves project `alpha` on `http://alpha.localhost:8000`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "HANDOFF_ROUTE",
    "HOME_ROUTE",
    "LOGIN_ROUTE",
    "LOGOUT_ROUTE",
    "ProjectOrigins",
    "host_and_port",
    "is_label",
    "project_origins",
]

# Routes of every project's mount that the proxy answers itself (platform mode only): the
# hand-off's landing (project origins), and the layout header's links to the platform.
HANDOFF_ROUTE = "/ebuio_handoff"
LOGIN_ROUTE = "/ebuio_login"
LOGOUT_ROUTE = "/ebuio_logout"
HOME_ROUTE = "/ebuio_home"

# A DNS label: what a project's slug must be to name an origin.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def host_and_port(host_header: str) -> tuple[str, str]:
    """Split a Host header into its lowercased name and its `:port` suffix ("" when none)."""
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 literal: never a project's origin
        name, _, rest = host.partition("]")
        return name + "]", rest if rest.startswith(":") else ""
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        return name, ":" + port
    return host, ""


@dataclass(frozen=True, kw_only=True)
class ProjectOrigins:
    """Which Host names a project, and the absolute URLs between the platform and projects."""

    domain: str  # `projects.example.org`
    public_url: str = ""  # the platform's origin when configured (PLUGIT_PUBLIC_URL)

    def is_project_host(self, host: str) -> bool:
        """Tell whether `host` (a name, no port) is under the projects domain."""
        return host.endswith("." + self.domain)

    def slug_of(self, host: str) -> str | None:
        """Give the slug named by a project host, None when it names none (`a.b.<domain>`)."""
        label = host[: -len(self.domain) - 1]
        return label if is_label(label) else None

    def project_origin(self, slug: str, scheme: str, port: str) -> str:
        """Give a project's origin, with the scheme and `:port` the browser used."""
        return f"{scheme}://{slug}.{self.domain}{port}"

    def platform_origin(self, scheme: str, port: str) -> str:
        """Give the platform's origin: the public URL, else the projects domain itself."""
        return self.public_url or f"{scheme}://{self.domain}{port}"


def project_origins() -> ProjectOrigins | None:
    """Read PLUGIT_PROJECTS_DOMAIN (None: projects share the platform's origin)."""
    from django.conf import settings

    domain: str = getattr(settings, "PLUGIT_PROJECTS_DOMAIN", "")
    if not domain or settings.PLUGIT_MODE != "platform":
        return None
    return ProjectOrigins(domain=domain, public_url=getattr(settings, "PLUGIT_PUBLIC_URL", ""))


def is_label(slug: str) -> bool:
    """Tell whether a slug can name an origin (a lowercase DNS label)."""
    return bool(_LABEL.match(slug))
