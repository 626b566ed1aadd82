"""Metrics after known traffic, /metrics' protection, request ids end to end, JSON log lines.

One platform (`plugit platform serve`, two worker processes, JSON log lines) in front of a
live service (`alpha`) and a dead instance (`dead`); numbers are read from /metrics as
Prometheus would, before and after the traffic each test makes.
"""

from __future__ import annotations

import json
import re
import uuid

import httpx
from plugit_platform_launch import Platform
from websockets.asyncio.client import connect

from plugit.api import PlugItAPI

from .conftest import METRICS_TOKEN
from .ops_kit import KEY, Collected, sample, scrape, wait_for

AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def metrics(platform: Platform) -> dict[str, float]:
    return scrape(platform.url, **AUTH)


def delta(before: dict[str, float], after: dict[str, float], name: str, **labels: str) -> float:
    return sample(after, name, **labels) - sample(before, name, **labels)


def json_lines(platform: Platform) -> list[dict[str, object]]:
    lines = []
    for line in platform.output.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every JSON line parses
    return lines


def test_each_metric_counts_the_traffic_sent(platform: Platform, service_url: str) -> None:
    before = metrics(platform)
    page = f"/p/alpha/?run={uuid.uuid4().hex}"  # a page-cache key of its own
    for _ in range(3):  # a miss, then two hits of the page cache
        with httpx.Client(base_url=platform.url, timeout=15) as fresh_connection:
            assert fresh_connection.get(page).status_code == 200
    assert httpx.get(platform.url + "/p/dead/", timeout=15).status_code == 502
    with PlugItAPI(f"{platform.url}/p/alpha/ebuio_api/", api_key=KEY) as api:
        assert api.send_mail("ops@example.org", "Hello", ["a@example.org"], "Hi") is True

    after = metrics(platform)
    requests = "plugit_http_requests_total"
    # Three pages and the mail call of the API.
    assert delta(before, after, requests, project="alpha", status_class="2xx") == 4
    assert delta(before, after, requests, project="dead", status_class="5xx") == 1
    assert delta(before, after, "plugit_request_duration_seconds_count", project="dead") == 1
    cache = "plugit_page_cache_lookups_total"
    assert delta(before, after, cache, project="alpha", result="miss") == 1
    assert delta(before, after, cache, project="alpha", result="hit") == 2
    action = {"project": "alpha", "instance": service_url, "kind": "action"}
    assert delta(before, after, "plugit_upstream_duration_seconds_count", **action) == 1
    assert sample(after, "plugit_upstream_in_flight", project="alpha", instance=service_url) == 0
    failed = [
        key
        for key, value in after.items()
        if key.startswith("plugit_upstream_failures_total{")
        and 'project="dead"' in key
        and value > sample(before, key.partition("{")[0], **_labels(key))
    ]
    assert failed
    assert all('reason="unavailable"' in key for key in failed), failed
    queued = "plugit_mail_outbox_messages"
    assert sample(after, queued, project="alpha", status="queued") == 1


def _labels(key: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', key.partition("{")[2]))


def test_every_worker_adds_to_the_same_numbers(platform: Platform) -> None:
    before = metrics(platform)
    for _ in range(12):  # new connections: the kernel hands them to either worker
        with httpx.Client(base_url=platform.url, timeout=15) as client:
            assert client.get("/p/alpha/who").status_code == 200
    totals = set()
    for _ in range(6):  # whichever worker answers the scrape, it sums every worker's files
        with httpx.Client(base_url=platform.url, timeout=15, headers=AUTH) as client:
            text = client.get("/metrics").text
        line = next(
            line
            for line in text.splitlines()
            if line.startswith('plugit_http_requests_total{project="alpha",status_class="2xx"}')
        )
        totals.add(float(line.rpartition(" ")[2]))
    expected = sample(before, "plugit_http_requests_total", project="alpha", status_class="2xx")
    assert totals == {expected + 12}


def test_with_two_workers_each_instance_shows_one_health_state(
    platform: Platform, service_url: str
) -> None:
    def dead_is_out() -> bool:  # refused calls in a row take it out (in either worker)
        assert httpx.get(platform.url + "/p/dead/", timeout=15).status_code >= 500
        dead = _instances(metrics(platform), "dead")
        return bool(dead) and health_states(platform, "dead", dead[0])["ejected"] == 1

    wait_for(dead_is_out, "the dead instance's ejection")
    assert httpx.get(platform.url + "/p/alpha/who", timeout=15).status_code == 200  # known
    wait_for(lambda: health_states(platform, "alpha", service_url)["up"] == 1, "a probe")
    for _ in range(6):  # whichever worker answers: one state, the newest verdict's
        with httpx.Client(base_url=platform.url, timeout=15, headers=AUTH) as client:
            samples = scrape_with(client)
        (dead,) = _instances(samples, "dead")
        assert _states(samples, "dead", dead) == {"new": 0, "up": 0, "ejected": 1, "refused": 0}
        alive = _states(samples, "alpha", service_url)
        assert alive == {"new": 0, "up": 1, "ejected": 0, "refused": 0}
        name, moved = "plugit_instance_transitions_total", "ejected"
        ejections = sample(samples, name, project="dead", instance=dead, transition=moved)
        assert 1 <= ejections <= 2  # each worker counts the verdicts it reached itself


STATES = ("new", "up", "ejected", "refused")


def health_states(platform: Platform, project: str, instance: str) -> dict[str, float]:
    return _states(metrics(platform), project, instance)


def _states(samples: dict[str, float], project: str, instance: str) -> dict[str, float]:
    name = "plugit_instance_state"
    return {s: sample(samples, name, project=project, instance=instance, state=s) for s in STATES}


def _instances(samples: dict[str, float], project: str) -> list[str]:
    """The instances of `project` the health gauge names."""
    found = {
        _labels(key)["instance"]
        for key in samples
        if key.startswith("plugit_instance_state{") and f'project="{project}"' in key
    }
    return sorted(found)


def scrape_with(client: httpx.Client) -> dict[str, float]:
    """`/metrics` over this client's own connection (so either worker may answer)."""
    samples = {}
    for line in client.get("/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_need_the_token_or_an_allowed_address(platform: Platform) -> None:
    refused = httpx.get(platform.url + "/metrics")  # 127.0.0.1 is not in the allowed networks
    assert refused.status_code == 403
    assert "plugit_" not in refused.text
    wrong = httpx.get(platform.url + "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = httpx.get(platform.url + "/metrics", headers=AUTH)
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain")
    assert "# TYPE plugit_http_requests_total counter" in right.text


def test_health_probes_answer_without_a_session(platform: Platform) -> None:
    for path, body in (("/healthz", {"alive": True}), ("/readyz", {"ready": True})):
        answer = httpx.get(platform.url + path, headers={"Host": "anything.example"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == body
        assert answer.headers["cache-control"] == "no-store"
        assert "set-cookie" not in answer.headers


def test_a_trusted_request_id_reaches_the_service_and_comes_back(
    platform: Platform, service_log: Collected, service_url: str
) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    answer = httpx.get(platform.url + "/p/alpha/who", headers={"X-Request-ID": request_id})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == request_id
    assert f"id={request_id}" in answer.text  # the action read request.request_id
    assert request_id in service_log.ids_of("who was asked")  # the service's log line

    def access_line() -> dict[str, object] | None:
        found = [
            line
            for line in json_lines(platform)
            if line.get("request_id") == request_id and line.get("logger") == "plugit_proxy.access"
        ]
        return found[0] if found else None

    wait_for(lambda: access_line() is not None, "the access log line")
    line = access_line()
    assert line is not None
    assert line["project"] == "alpha"
    assert line["service"] == service_url
    assert line["route"] == "/who"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float | int)
    assert {"time", "level", "message"} <= set(line)


async def test_a_sockets_trusted_request_id_reaches_the_service_and_the_log(
    platform: Platform, service_log: Collected
) -> None:
    request_id = f"socket-{uuid.uuid4().hex[:12]}"
    url = platform.url.replace("http://", "ws://") + "/p/alpha/socket"
    headers = {"X-Request-ID": request_id}
    async with connect(url, origin=platform.url, additional_headers=headers) as socket:  # type: ignore[arg-type]
        assert socket.response is not None
        assert socket.response.headers["X-Request-ID"] == request_id  # echoed on the handshake
        assert await socket.recv() == request_id  # the handler's request.request_id
    assert request_id in service_log.ids_of("socket opened")  # the service's log line

    def socket_lines() -> list[str]:
        return [
            str(line["message"])
            for line in json_lines(platform)
            if line.get("request_id") == request_id
            and str(line["message"]).startswith("WebSocket on ")
            and line.get("project") == "alpha"
        ]

    wait_for(lambda: len(socket_lines()) == 2, "the socket's opened and closed lines")
    opened, closed = socket_lines()
    assert opened.startswith("WebSocket on /p/alpha/socket opened to http://127.0.0.1:")
    assert closed == "WebSocket on /p/alpha/socket closed: the browser closed it (1000)"


def test_a_malformed_request_id_is_replaced(platform: Platform) -> None:
    answer = httpx.get(platform.url + "/p/alpha/who", headers={"X-Request-ID": "no spaces <>"})
    given = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert f"id={given}" in answer.text


def test_error_pages_show_their_own_request_id(platform: Platform) -> None:
    first = httpx.get(platform.url + "/p/alpha/boom")
    second = httpx.get(platform.url + "/p/alpha/boom")  # the same page, from the render cache
    for answer in (first, second):
        assert answer.status_code == 500
        assert f"<code>{answer.headers['x-request-id']}</code>" in answer.text
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.headers["x-request-id"] not in second.text
    dead = httpx.get(platform.url + "/p/dead/", headers={"Accept": "text/html"})
    assert dead.headers["x-request-id"] in dead.text
