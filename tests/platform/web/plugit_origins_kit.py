"""A platform with an origin per project (`PLUGIT_PROJECTS_DOMAIN=localhost`), for the origin
tests over real sockets and the browser test.

Projects: `alpha` (a page with a form that changes the service's state), `beta` (members
only), `gamma` (a hostile service whose page script attacks the platform and alpha), `files`
(a file answer and media an attacker chose: HTML and SVG) and `proxied` (proxy mode, a
NoTemplate answer). Chromium resolves `*.localhost` to loopback by itself; the test clients
here connect every `*.localhost` name to 127.0.0.1 as it does.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
from plugit_platform_launch import Platform, apply, platform_env, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from plugit import SendFile, Service
from plugit.settings import Settings
from plugit.testing import LiveServer
from plugit.utils import only_logged_user, public

DOMAIN = "localhost"
NOTES: list[str] = []  # what alpha's service was asked to note: the hostile page must add none

BASE = '{% extends "plugIt/base.html" %}'
TEMPLATES = {
    "home.html": BASE
    + """{% block content %}<p id="who">{{ ebuio_u.username|default:"stranger" }}</p>
<p id="base">{{ ebuio_baseUrl }}</p><p id="media">{{ MEDIA_URL }}</p>
<form id="note" method="post" action="{{ ebuio_baseUrl }}note">{% csrf_token %}
<input name="text" value="from alpha"><button type="submit">Note</button></form>
{% endblock %}""",
    "noted.html": BASE + '{% block content %}<p id="noted">{{ count }}</p>{% endblock %}',
    "hostile.html": BASE
    + """{% block content %}<p id="who">{{ ebuio_u.username }}</p><pre id="result"></pre>
<script>
(async () => {
  // On a shared origin (/p/<slug>/) this script owns the platform; on its own origin, nothing.
  const port = location.port ? ":" + location.port : "";
  const platform = location.protocol + "//localhost" + port;
  const shared = location.pathname.startsWith("/p/");
  const alpha = shared ? platform + "/p/alpha" : location.protocol + "//alpha.localhost" + port;
  const seen = [];
  async function read(name, url) {
    try {
      const answer = await fetch(url, {credentials: "include"});
      const text = await answer.text();
      seen.push(name + ": READ " + answer.status + " " + text.length);
      return new DOMParser().parseFromString(text, "text/html");
    } catch (error) { seen.push(name + ": blocked"); return null; }
  }
  async function post(name, url, form, fields) {
    const body = form ? new FormData(form) : new FormData();
    for (const [key, value] of Object.entries(fields)) body.set(key, value);
    try {
      const answer = await fetch(url, {method: "POST", body, credentials: "include",
                                        mode: form ? "cors" : "no-cors"});
      seen.push(name + ": sent " + answer.status);
    } catch (error) { seen.push(name + ": blocked"); }
  }
  await read("admin", platform + "/admin/");
  const change = platform + "/admin/platform/user/{{ target }}/change/";
  const user = await read("admin-user", change);
  await post("make-superuser", change, user && user.querySelector("#user_form"),
             {is_superuser: "on", is_staff: "on"});
  const page = await read("alpha", alpha + "/");
  await post("alpha-note", alpha + "/note", page && page.querySelector("#note"),
             {text: "from gamma"});
  seen.push("cookies: " + document.cookie);
  document.getElementById("result").textContent = seen.join("\\n") + "\\ndone";
})();
</script>{% endblock %}""",
}
HOSTILE_HTML = "<html><body><script>document.title = 'ran'</script>owned</body></html>"
HOSTILE_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="ran"</script></svg>'


def pages_service(root: Path) -> Service:
    """alpha's and gamma's service: a page, a form that changes state, the hostile page."""
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text)
    (root / "media" / "evil.svg").write_text(HOSTILE_SVG)
    (root / "page.html").write_text(HOSTILE_HTML)
    svc = Service(root=str(root), settings=Settings(meta_cache=300))

    @svc.action("/", template="home.html")
    @public()
    def home(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/logged", template="home.html")
    @only_logged_user()
    def logged(request: Any) -> dict[str, Any]:
        return {}

    @svc.action("/note", template="noted.html", methods=("POST",))
    @public()
    def note(request: Any) -> dict[str, Any]:
        NOTES.append(request.form.get("text", ""))
        return {"count": len(NOTES)}

    @svc.action("/hostile", template="hostile.html")
    @only_logged_user()
    def hostile(request: Any) -> dict[str, Any]:
        return {"target": request.args.get("target", "0")}  # the account to make superuser

    @svc.action("/file")
    @public()
    def file(request: Any) -> SendFile:
        return SendFile(root / "page.html", "text/html")

    return svc


async def _bare(request: Request) -> Response:
    return HTMLResponse(HOSTILE_HTML, headers={"EbuIo-PlugIt-NoTemplate": "1"})


def proxied_app() -> Starlette:
    """The proxy-mode service: one NoTemplate answer."""
    return Starlette(routes=[Route("/bare", _bare)])


def platform_file(pages: str, proxied: str) -> str:
    """The platform: five projects; root is a superuser, alice a member of beta, dave none."""
    return f'''
[[users]]
username = "root"
email = "root@example.org"
password_env = "PW_ROOT"
superuser = true

[[users]]
username = "alice"
email = "alice@example.org"
password_env = "PW_ALICE"

[[users]]
username = "dave"
email = "dave@example.org"
password_env = "PW_DAVE"

[[projects]]
slug = "alpha"
name = "Alpha"
services = ["{pages}"]
orga_mode = false
user_fields = ["username"]

[[projects]]
slug = "beta"
name = "Beta"
services = ["{pages}"]
orga_mode = false
visibility = "members"
user_fields = ["username"]
members = {{ alice = "member" }}

[[projects]]
slug = "gamma"
name = "Gamma"
services = ["{pages}"]
orga_mode = false
user_fields = ["username"]

[[projects]]
slug = "files"
name = "Files"
services = ["{pages}"]
orga_mode = false

[[projects]]
slug = "proxied"
name = "Proxied"
services = ["{proxied}"]
orga_mode = false
proxy_mode = true
'''


@contextlib.contextmanager
def origins_platform(workdir: Path, **settings: str) -> Iterator[Platform]:
    """Serve the platform with an origin per project (unless `settings` say otherwise)."""
    NOTES.clear()
    with (
        LiveServer(pages_service(workdir / "pages")) as pages,
        LiveServer(proxied_app()) as proxied,
    ):
        env = platform_env(workdir / "data", **{"PLUGIT_PROJECTS_DOMAIN": DOMAIN, **settings})
        env = {name: value for name, value in env.items() if value != ""}  # "": unset
        apply(env, workdir, platform_file(pages.url, proxied.url))
        with serving(env, workdir) as running:
            running.url = running.url.replace("127.0.0.1", DOMAIN)
            yield running


class _Loopback(httpcore.SyncBackend):
    """Connect every `*.localhost` name to 127.0.0.1, as browsers do."""

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host == DOMAIN or host.endswith("." + DOMAIN):
            host = "127.0.0.1"
        return super().connect_tcp(host, port, *args, **kwargs)


def browser(platform: Platform) -> httpx.Client:
    """A client with a browser's cookie jar that reaches the platform and its projects."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(network_backend=_Loopback())
    client = httpx.Client(base_url=platform.url, transport=transport, timeout=15)
    platform.clients.append(client)
    return client


def origin(platform: Platform, slug: str) -> str:
    """Give project `slug`'s origin on this platform."""
    port = platform.url.rsplit(":", 1)[1]
    return f"http://{slug}.{DOMAIN}:{port}"


def csrf_field(html: str) -> str:
    """Read the CSRF token a page's form carries."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def database(platform: Platform) -> Path:
    return Path(platform.env["PLUGIT_DATA_DIR"]) / "db.sqlite3"


def user_pk(platform: Platform, username: str) -> int:
    with sqlite3.connect(database(platform)) as db:
        row = db.execute("SELECT id FROM platform_user WHERE username = ?", (username,)).fetchone()
    return int(row[0])


def is_superuser(platform: Platform, username: str) -> bool:
    with sqlite3.connect(database(platform)) as db:
        row = db.execute(
            "SELECT is_superuser FROM platform_user WHERE username = ?", (username,)
        ).fetchone()
    return bool(row[0])
