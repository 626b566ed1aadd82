"""The calls of the proxy's API (docs/protocol.md §6), described once for the API page."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CALLS", "ApiCall", "call_names"]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One call of the API: its method, its path under the API root, and what it answers."""

    method: str
    path: str
    answer: str

    @property
    def name(self) -> str:
        """The first segment of the path (`user` for `user/<pk>`)."""
        return self.path.split("/", 1)[0]


CALLS: tuple[ApiCall, ...] = (
    ApiCall(
        "GET",
        "user/<pk>",
        "The user's allowed fields, id (the pk as text) and orgas "
        '([{"id", "name", "codops", "is_admin"}]); 404 when the project does not know the user.',
    ),
    ApiCall("GET", "user/<uuid>", "The same, the user found by UUID."),
    ApiCall(
        "GET",
        "subscriptions/<pk>",
        "The list of the subscription labels the user holds for this project.",
    ),
    ApiCall(
        "GET",
        "orga/<pk>",
        '{"pk", "name", "codops"} of the organisation; 404 when unknown or not accepted.',
    ),
    ApiCall("GET", "orgas/", '{"data": [{"id", "name", "codops"}, ...]}: the organisations.'),
    ApiCall("GET", "members/", '{"members": [user, ...]}: the project\'s members.'),
    ApiCall(
        "POST",
        "mail/",
        "Sends a mail on the platform's behalf (form fields sender, subject, message, dests "
        "repeated, html_message, optional response_id to route replies back); answers {}.",
    ),
    ApiCall(
        "POST",
        "instances/",
        'Hosted platform: registers an instance of the service ({"url", "version"} in JSON) '
        "or refreshes its heartbeat; DELETE deregisters it (docs/routing.md).",
    ),
)


def call_names() -> frozenset[str]:
    """The first path segments of the calls (anything else there is an API key)."""
    return frozenset(call.name for call in CALLS)
