"""The staff's status page (`/status/`): after known traffic, its numbers are the metrics'."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from plugit_platform_launch import Platform, apply, free_port, platform_toml, serving, stores_env
from prometheus_client.parser import text_string_to_metric_families

STATUS_COMMAND = (sys.executable, "-m", "plugit", "platform", "status")
DEAD_PROJECT = """
[[projects]]
slug = "delta"
name = "Delta"
services = ["{dead}"]
"""


@pytest.fixture(scope="module")
def platform(
    service_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """A platform whose processes probe nobody (no call the test did not make)."""
    workdir = tmp_path_factory.mktemp("status")
    env = stores_env("embedded", workdir, None)
    env["PLUGIT_HEALTH_INTERVAL"] = "0"
    dead = f"http://127.0.0.1:{free_port()}/"
    text = platform_toml(service_urls["shared"], service_urls["other"])
    apply(env, workdir, text + DEAD_PROJECT.format(dead=dead))
    with serving(env, workdir) as running:
        yield running


class StatusPage(HTMLParser):
    """The page's numbers: {(project, instance or ""): {metric: value}}."""

    def __init__(self) -> None:
        super().__init__()
        self.values: defaultdict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        self.project = self.instance = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-project" in found:
            self.project, self.instance = found["data-project"] or "", ""
        if "data-instance" in found:
            self.instance = (found["data-instance"] or "").rstrip("/")
        if "data-metric" in found and "data-value" in found:
            key = (self.project, self.instance)
            self.values[key][found["data-metric"] or ""] = found["data-value"] or ""


def read_metrics(platform: Platform) -> dict[str, list[tuple[dict[str, str], float]]]:
    """`/metrics` (from loopback, which it allows) by sample name."""
    answer = httpx.get(platform.url + "/metrics", timeout=15)
    assert answer.status_code == 200, answer.text
    samples = defaultdict(list)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def total(samples: list[tuple[dict[str, str], float]], **labels: str) -> float:
    """The sum of the samples whose labels include `labels` (an instance without its '/')."""

    def matches(sample: dict[str, str]) -> bool:
        return all(sample.get(k, "").rstrip("/") == v.rstrip("/") for k, v in labels.items())

    return sum(value for sample, value in samples if matches(sample))


def test_only_staff_open_the_status_page(platform: Platform) -> None:
    anonymous = platform.client().get("/status/")
    assert anonymous.status_code == 302
    assert anonymous.headers["location"].startswith("/admin/login/")
    assert platform.login("bob").get("/status/").status_code == 302  # signed in, not staff
    assert platform.login("root").get("/status/").status_code == 200


def test_after_known_traffic_the_page_shows_the_metrics_numbers(
    platform: Platform, service_urls: dict[str, str]
) -> None:
    bob = platform.login("bob")
    for _ in range(3):
        assert bob.get("/p/alpha/").status_code == 200
    assert platform.login("dave").get("/p/delta/").status_code >= 500  # nobody listens there
    page = platform.login("root").get("/status/")
    assert page.status_code == 200
    parser = StatusPage()
    parser.feed(page.text)
    shown = parser.values
    metrics = read_metrics(platform)

    shared = service_urls["shared"].rstrip("/")
    alpha = shown[("alpha", shared)]
    calls = total(metrics["plugit_upstream_duration_seconds_count"], project="alpha")
    assert int(alpha["calls"]) == calls >= 3  # meta, templates, actions of three pages
    seconds = total(metrics["plugit_upstream_duration_seconds_sum"], project="alpha")
    assert float(alpha["seconds"]) == pytest.approx(seconds, abs=1e-6)
    failures = total(metrics["plugit_upstream_failures_total"], project="alpha")
    assert int(alpha["failures"]) == failures == 0
    assert int(alpha["breakers-open"]) == total(metrics["plugit_breakers_open"], project="alpha")

    requests = total(metrics["plugit_http_requests_total"], project="alpha")
    assert int(shown[("alpha", "")]["requests"]) == requests >= 3
    assert int(shown[("alpha", "")]["status-2xx"]) == total(
        metrics["plugit_http_requests_total"], project="alpha", status_class="2xx"
    )

    delta = next(numbers for (slug, url), numbers in shown.items() if slug == "delta" and url)
    delta_failures = total(metrics["plugit_upstream_failures_total"], project="delta")
    assert int(delta["failures"]) == delta_failures >= 1
    assert int(shown[("delta", "")]["status-5xx"]) == total(
        metrics["plugit_http_requests_total"], project="delta", status_class="5xx"
    )
    assert {slug for slug, _ in shown} >= {"alpha", "beta", "gamma", "delta"}


def test_plugit_platform_status_prints_the_same_numbers(
    platform: Platform, service_urls: dict[str, str]
) -> None:
    assert platform.login("bob").get("/p/alpha/").status_code == 200
    command = [sys.executable, "-m", "plugit", "platform", "status"]
    done = subprocess.run(
        [*command, "--metrics-url", platform.url + "/metrics"],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    metrics = read_metrics(platform)
    lines = done.stdout.splitlines()
    alpha = next(n for n, line in enumerate(lines) if line.startswith("project alpha "))
    shared = service_urls["shared"].rstrip("/")
    line = next(line for line in lines[alpha:] if line.strip().startswith(shared))
    calls = total(metrics["plugit_upstream_duration_seconds_count"], project="alpha")
    assert re.search(rf"calls: {int(calls)}, failed 0.0 %", line), line
    assert "  configured  health: " in line


def test_plugit_platform_status_says_when_the_metrics_cannot_be_read(platform: Platform) -> None:
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    done = subprocess.run(
        [sys.executable, "-m", "plugit", "platform", "status", "--metrics-url", dead],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"plugit: error: cannot read {dead}: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_ejected_instance_shows_on_the_page_and_in_plugit_platform_status(
    platform: Platform,
) -> None:
    dave = platform.login("dave")
    delta = ""
    for _ in range(10):  # refused connections in a row take the instance out (no prober here)
        assert dave.get("/p/delta/").status_code >= 500
        states = read_metrics(platform)["plugit_instance_state"]
        ejected = [
            labels for labels, value in states if value == 1 and labels["project"] == "delta"
        ]
        if ejected and ejected[0]["state"] == "ejected":
            delta = ejected[0]["instance"].rstrip("/")
            break
    assert delta, "the dead instance was never ejected"
    metrics = read_metrics(platform)
    ejections = total(metrics["plugit_instance_transitions_total"], project="delta")
    assert ejections == 1  # later failed tries keep it out: no new ejection
    assert total(metrics["plugit_instance_state"], project="delta", state="up") == 0

    parser = StatusPage()
    parser.feed(platform.login("root").get("/status/").text)
    shown = parser.values[("delta", delta)]
    assert shown["health"] == "ejected"
    assert (shown["ejections"], shown["readmissions"], shown["refusals"]) == ("1", "0", "0")

    done = subprocess.run(
        [*STATUS_COMMAND, "--metrics-url", platform.url + "/metrics"],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.strip().startswith(delta))
    assert "  configured  health: ejected (ejected 1, readmitted 0, refused 0)" in line, line
