"""The GET calls of steps 1 and 5 (meta, template): one rule for their answers."""

from __future__ import annotations

from plugit.pagerules import fetch_status

from ..config import Project
from ..upstream import ProtocolViolation, Request, UpstreamAnswer
from .state import Runtime
from .urls import service_url

__all__ = ["fetch_protocol_call"]


async def fetch_protocol_call(
    runtime: Runtime, project: Project, path: str, route: str
) -> tuple[UpstreamAnswer, str] | None:
    """GET `path` + `route` of the service: its answer and URL, None when it has none (4xx).

    Any other answer that is not a 200 is a protocol violation (a 502 page), and so is the
    network guard's refusal (`ServiceRefused`: this proxy is not allowed, a 502 page).
    """
    base = runtime.upstream.pick(project)
    url = service_url(base, path, route)
    answer = await runtime.upstream.send(Request(method="GET", url=url, service=base))
    status = fetch_status(answer.status)
    if status == 404:
        refused = answer.guard_refusal()
        if refused is not None:
            raise refused
        return None
    if status != 200:
        raise ProtocolViolation(f"the service answered {answer.status} to the {path} call", url=url)
    return answer, url
