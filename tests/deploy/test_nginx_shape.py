"""The deployment recipe (deploy/) brought up here: nginx with TLS, two platform processes,
PostgreSQL and Redis. A sign-in survives the process that made it being killed, the other
serves on; plain HTTP redirects to HTTPS; HSTS is sent once; /readyz answers through nginx.
"""

from __future__ import annotations

import os
import re
import signal
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from plugit_deploy_kit import (
    ENV_EXAMPLE,
    READY_TIMEOUT,
    REDIS_URL,
    Nginx,
    PlatformProcess,
    apply_platform_file,
    check_postgres_and_redis,
    free_port,
    fresh_database,
    read_env_file,
    redis_prefix,
    render_site,
    running_nginx,
    self_signed_certificate,
    start_platform,
    stop,
    wait_listening,
    write_env_file,
)

OPERATOR, PASSWORD = "operator", "operator-Pa55word!"
HSTS = "max-age=31536000"  # render.py's default
PLATFORM_FILE = """
[[users]]
username = "operator"
email = "operator@example.org"
password_env = "OPERATOR_PASSWORD"
superuser = true
"""
# The example's values that belong to the machine; every other line is used as it is.
MACHINE_VALUES = {
    "PLUGIT_DATABASE_URL",
    "PLUGIT_REDIS_URL",
    "PLUGIT_SECRET_KEY",
    "PLUGIT_DATA_DIR",
    "PLUGIT_PUBLIC_URL",
    "PLUGIT_PROJECTS_DOMAIN",
    "PLUGIT_EMAIL_URL",
}

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(400)]


@dataclass
class Shape:
    """nginx, the two platform processes behind it, and the client's trust in the certificate."""

    nginx: Nginx
    processes: list[PlatformProcess]
    trust: ssl.SSLContext

    @property
    def url(self) -> str:
        return f"https://localhost:{self.nginx.https_port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.trust, timeout=30)


def settings_file(folder: Path, database: str, prefix: str, https_port: int) -> Path:
    """/etc/plugit/platform.env for this machine: the example, its placeholders replaced."""
    example = read_env_file(ENV_EXAMPLE)
    placeholders = {name for name, value in example.items() if "CHANGE-ME" in value}
    assert placeholders <= MACHINE_VALUES, placeholders
    return write_env_file(
        folder / "platform.env",
        {
            "PLUGIT_DATABASE_URL": database,
            "PLUGIT_REDIS_URL": REDIS_URL,
            "PLUGIT_CACHE_PREFIX": prefix,
            "PLUGIT_SECRET_KEY": "deploy-test-" + "k" * 40,
            "PLUGIT_DATA_DIR": str(folder / "data"),
            "PLUGIT_PUBLIC_URL": f"https://localhost:{https_port}",
            "PLUGIT_PROJECTS_DOMAIN": "projects.localhost",
            "PLUGIT_EMAIL_URL": "console://",
            "PLUGIT_HSTS_SECONDS": "60",  # nginx's header must replace the platform's
        },
    )


def clean_environment() -> dict[str, str]:
    """This environment without the PLUGIT_* settings a developer's shell may hold."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGIT_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**env, "OPERATOR_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shape]:
    check_postgres_and_redis()
    folder = tmp_path_factory.mktemp("deploy")
    certificate, key = self_signed_certificate(folder)
    ports = [free_port(), free_port()]
    with (
        fresh_database() as database,
        redis_prefix() as prefix,
        running_nginx(folder, certificate, key, ports) as nginx,
    ):
        env_file = settings_file(folder, database, prefix, nginx.https_port)
        apply_platform_file(clean_environment(), env_file, folder, PLATFORM_FILE)
        # systemd reads the same file into the processes' environment (EnvironmentFile=).
        env = {**clean_environment(), **read_env_file(env_file)}
        # Both at once, as systemd starts them: the first start-up waits for the other.
        processes = [start_platform(env, folder, port) for port in ports]
        try:
            for process in processes:
                wait_listening(process.port, process.process, process.log)
            trust = ssl.create_default_context(cafile=str(certificate))
            yield Shape(nginx, processes, trust)
        finally:
            for process in processes:
                stop(process.process)


def sign_in(client: httpx.Client, base: str) -> httpx.Response:
    """Post the login form as a browser does over HTTPS (Django checks the Referer there)."""
    form = client.get("/accounts/login/", params={"next": "/admin/"})
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None, form.text
    return client.post(
        "/accounts/login/",
        data={
            "login": OPERATOR,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/accounts/login/"},
    )


def signed_in(client: httpx.Client) -> bool:
    """The admin's index opens for the operator (anonymous visitors are sent to its login)."""
    page = client.get("/admin/")
    return page.status_code == 200 and OPERATOR in page.text


def answered_login(processes: list[PlatformProcess]) -> PlatformProcess:
    """The process whose access log shows the login form's POST."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for process in processes:
            for line in process.output.splitlines():
                if "POST" in line and "/accounts/login/" in line:
                    return process
        time.sleep(0.2)
    pytest.fail("no platform process logged the login's POST")


def test_the_site_renders_from_the_template_with_every_field_filled(shape: Shape) -> None:
    assert "${" not in shape.nginx.site
    for port in (process.port for process in shape.processes):
        assert f"server 127.0.0.1:{port} " in shape.nginx.site


def test_render_refuses_a_value_that_would_break_the_configuration() -> None:
    bad = render_site(["--server-name", "a; evil", "--certificate", "/c", "--key", "/k"])
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "render.py: error: not usable in nginx's configuration: 'a; evil'"
    ]


def test_plain_http_redirects_to_the_same_path_over_https(shape: Shape) -> None:
    plain = f"http://localhost:{shape.nginx.http_port}"
    answer = httpx.get(f"{plain}/accounts/login/?next=/admin/", timeout=30)
    assert answer.status_code == 301
    assert answer.headers["location"] == f"{shape.url}/accounts/login/?next=/admin/"
    with shape.client() as client:
        assert client.get(answer.headers["location"]).status_code == 200


def test_hsts_is_sent_once_on_pages_static_files_and_errors(shape: Shape) -> None:
    with shape.client() as client:
        page = client.get("/accounts/login/")
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page.text)
        assert stylesheet is not None, page.text
        static = client.get(stylesheet.group(1))
        missing = client.get("/no-such-page/")
    assert page.status_code == 200
    assert static.status_code == 200
    assert static.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    for answer in (page, static, missing):
        assert answer.headers.get_list("strict-transport-security") == [HSTS]


def test_the_platform_believes_nginx_about_https_not_the_client(shape: Shape) -> None:
    # PLUGIT_HTTPS_REDIRECT is on in the platform: a request it took for plain HTTP would be
    # redirected. nginx replaces whatever X-Forwarded-Proto the client sent.
    with shape.client() as client:
        answer = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "http"})
    assert answer.status_code == 200
    assert "Secure" in answer.headers["set-cookie"]


def test_readyz_answers_through_nginx(shape: Shape) -> None:
    with shape.client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text


def test_metrics_are_not_served_through_nginx(shape: Shape) -> None:
    # The processes allow their loopback, and nginx calls them from there.
    direct = httpx.get(f"http://127.0.0.1:{shape.processes[0].port}/metrics", timeout=30)
    assert direct.status_code == 200
    with shape.client() as client:
        for path in ("/metrics", "//metrics", "/%6Detrics", "/metrics?format=text"):
            url = httpx.URL(shape.url + path)  # absolute: "//metrics" is no host name
            assert url.raw_path.split(b"?")[0] == path.split("?")[0].encode()
            assert client.get(url).status_code == 403, path


def test_a_sign_in_survives_its_process_being_killed_and_the_other_serves_on(
    shape: Shape,
) -> None:
    with shape.client() as client:
        answer = sign_in(client, shape.url)
        assert answer.status_code == 302, answer.text
        assert signed_in(client)
        login_process = answered_login(shape.processes)
        stop(login_process.process, signal.SIGKILL)
        assert login_process.process.returncode == -signal.SIGKILL
        # Every request now lands on the survivor (nginx skips the refused connection).
        assert all(signed_in(client) for _ in range(6))
    with shape.client() as newcomer:  # a new sign-in (a POST) works too
        assert sign_in(newcomer, shape.url).status_code == 302
        assert signed_in(newcomer)
    survivor = next(p for p in shape.processes if p is not login_process)
    assert survivor.process.poll() is None
