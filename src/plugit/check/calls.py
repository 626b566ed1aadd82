"""The calls `plugit check` makes: one blocking httpx client, every call counted and timed out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from plugit.check.findings import Report
from plugit.exceptions import PlugItError

__all__ = ["NOT_JSON", "Caller", "ServiceUnreachable", "json_text", "read_json", "shown"]

# What `read_json` gives for a body that is not JSON.
NOT_JSON: Any = object()


class ServiceUnreachable(PlugItError):
    """Nothing answers at the service's URL (refused, unknown host, not HTTP)."""


class Caller:
    """Calls one service below its base URL; a call that times out becomes a finding."""

    def __init__(self, base_url: str, report: Report, *, timeout: float) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.report = report
        self.timeout = timeout
        # trust_env=False: a proxy variable of the shell must not stand between us and the service.
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def call(
        self,
        label: str,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        data: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response | None:
        """Make one call (path relative to the base URL); None when it gave no answer."""
        self.report.calls += 1
        try:
            response = self._http.request(
                method, path, params=tuple(params or ()), data=data, headers=headers
            )
        except httpx.TimeoutException:
            self.report.add(
                "error",
                "timeout",
                label,
                expected=f"an answer within {self.timeout:g} s (--timeout)",
                got="no answer in time",
            )
            return None
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise ServiceUnreachable(f"cannot reach {self.base_url}: {error}") from None
        except httpx.HTTPError as error:
            self.report.add(
                "error", "not-http", label, expected="an HTTP answer", got=_describe(error)
            )
            return None
        finally:
            self._http.cookies.clear()  # a proxy keeps no cookie of the service's
        return response

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def read_json(response: httpx.Response) -> Any:
    """The answer's JSON, or `NOT_JSON`."""
    try:
        return json.loads(response.content)
    except ValueError:
        return NOT_JSON


def shown(content: bytes | str, limit: int = 60) -> str:
    """A short, printable excerpt of a body for a finding."""
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    text = " ".join(text.split())
    if not text:
        return "an empty body"
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def json_text(value: object, limit: int = 120) -> str:
    """A JSON value written out for a finding, cut at `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
