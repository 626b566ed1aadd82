"""Processes for the health tests: a service instance, or a proxy in front of several.

    python tests/proxy/health_processes.py service PORT NAME
    python tests/proxy/health_processes.py proxy PORT REDIS_URL PREFIX URL [URL...]

The service answers `/` (cached 1 s) and `/live` (never cached) with its NAME; the proxy serves one
project at `/plugIt/` over the given instances, its cache in Redis under PREFIX, with the
health settings of its PLUGIT_* environment.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

HOME = "{% extends 'plugIt/base.html' %}{% block content %}<p id='who'>{{ name }}</p>{% endblock %}"


def service(port: int, name: str) -> None:
    from plugit import Service
    from plugit.utils import cache, public

    root = Path(tempfile.mkdtemp(prefix=f"health-{name}-"))
    (root / "templates").mkdir()
    (root / "templates" / "home.html").write_text(HOME)
    svc = Service(root=str(root))

    @svc.action("/", template="home.html")
    @public()
    @cache(time=1)
    def home(request: Any) -> dict[str, Any]:
        return {"name": name}

    @svc.action("/live", template="home.html")
    @public()
    def live(request: Any) -> dict[str, Any]:
        return {"name": name}

    svc.run(host="127.0.0.1", port=port)


def proxy(port: int, redis_url: str, prefix: str, urls: list[str]) -> None:
    os.environ.setdefault("PLUGIT_DATA_DIR", tempfile.mkdtemp(prefix="health-proxy-"))
    os.environ.setdefault("PLUGIT_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
    from plugit_proxy.asgi import build_application
    from plugit_proxy.cache import RedisCache
    from plugit_proxy.conf import load_configuration
    from plugit_proxy.config import Project, ProxyConfig

    upstream = load_configuration().upstream
    project = Project(
        key="p", name="P", mount="/plugIt/", service_urls=tuple(urls), menu_action=None
    )
    cache = RedisCache(redis_url, {"KEY_PREFIX": prefix})
    app = build_application(ProxyConfig(upstream=upstream, projects=(project,)), cache=cache)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    kind, port, *rest = sys.argv[1:]
    if kind == "service":
        service(int(port), rest[0])
    else:
        proxy(int(port), rest[0], rest[1], rest[2:])
