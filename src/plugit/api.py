"""The service-side client of the proxy's API (docs/protocol.md §6), blocking and async.

```python
with PlugItAPI(settings.api_url) as api:
    user = api.get_user(42)          # a `User`, or None when the proxy does not know it
    api.send_mail("noreply@example.org", "Hello", ["a@example.org"], "Hi!")
```

`AsyncPlugItAPI` has the same methods, awaitable. Both build each call and read each answer
with the same functions below; only the transport differs.

When the proxy *refuses* a call (any 4xx: an unknown user or organisation, a wrong API key,
a call this platform does not offer), the method gives what the original client gave:
`None`, `[]` for subscription labels, `False` for `send_mail`; a refusal other than 404 is
also logged as a warning, since it usually means a wrong API key or URL. A *failure* still
raises: a proxy that cannot be reached in time raises `APIConnectionError`; a 5xx (or any
other status that is neither success nor refusal) or a body that is not the expected JSON
raises `APIResponseError`.

The forum calls (`ebuio_forum`, `forum_create_topic`, `forum_topic_get_by_tag_for_user`)
are sent as the original sent them, but this platform has no forum: its proxy refuses
them, so they give `None`.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from plugit.exceptions import APIConnectionError, APIResponseError, ConfigurationError
from plugit.protocol import DEFAULT_USER_FIELDS, ORGA_FIELDS, USER_FLAG_FIELDS, encode_bool
from plugit.userfields import UserFlags, UserProfile

__all__ = ["AsyncPlugItAPI", "Orga", "PlugItAPI", "User"]

T = TypeVar("T")
Form = dict[str, str | list[str]]

DEFAULT_TIMEOUT = 10.0

log = logging.getLogger("plugit.api")


# -- What the API answers ------------------------------------------------------------------------
class _Record:
    """Attribute access to every field of a JSON object, typed fields first."""

    _raw: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not typed fields: the proxy's extra user fields.
        if not name.startswith("_"):
            try:
                return self._raw[name]
            except KeyError:
                pass
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __getitem__(self, name: str) -> Any:
        return self.to_dict()[name]

    def to_dict(self) -> dict[str, Any]:
        """The object as the API answered it."""
        return {key: _plain(value) for key, value in self._raw.items()}


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Orga(_Record):
    """An organisation: `pk` (also `id`), `name`, `codops`; `is_admin` in a user's `orgas`."""

    pk: Any
    name: str = ""
    codops: str = ""
    is_admin: bool = False
    _raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def id(self) -> Any:
        """The organisation's primary key (the API names it `id` in lists)."""
        return self.pk

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Orga) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Orga:
        """Build from `{"pk"|"id", "name", "codops", "is_admin"?}`."""
        text: dict[str, Any] = {n: _to_text(data.get(n)) for n in ORGA_FIELDS if n != "pk"}
        return cls(
            pk=data.get("pk", data.get("id")),
            **text,
            is_admin=_to_bool(data.get("is_admin")),
            _raw=dict(data),
        )


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class User(UserProfile, UserFlags, _Record):
    """A platform user: the fields the project may see, and the user's organisations.

    Fields the proxy sends beyond the typed ones are attributes too (`user.some_field`).
    """

    pk: Any
    id: str
    orgas: list[Orga] = dataclasses.field(default_factory=list)
    _raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, User) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_json(cls, data: Mapping[str, Any], asked_pk: Any = None) -> User:
        """Build from the API's user object (`id` is `str(pk)`, `orgas` a list of objects)."""
        pk = data.get("pk", data.get("id", asked_pk))
        orgas = data.get("orgas") or []
        if not isinstance(orgas, list) or not all(isinstance(o, Mapping) for o in orgas):
            raise ValueError("'orgas' is not a list of objects")
        fields: dict[str, Any] = {
            name: _to_bool(data.get(name)) if name in USER_FLAG_FIELDS else _to_text(data.get(name))
            for name in DEFAULT_USER_FIELDS
            if name not in ("pk", "id")
        }
        return cls(
            pk=pk,
            id=str(data.get("id", pk)),
            **fields,
            orgas=[Orga.from_json(orga) for orga in orgas],
            _raw=dict(data),
        )


def _to_text(value: Any) -> str:
    return str(value or "")


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "on"}
    return bool(value)


def _plain(value: Any) -> Any:
    """A deep copy of JSON data, so callers cannot change a record through `to_dict()`."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# -- One call: what to send, and how to read the answer -------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Call(Generic[T]):
    """A request to the API, the reader of its JSON answer, and the answer to a refusal."""

    method: str
    path: str
    read: Callable[[Any], T]
    refused: T  # the result when the API answers 4xx, as the original client gave it
    form: Form | None = None
    params: dict[str, str] | None = None

    def result(self, response: httpx.Response) -> T:
        """Read the answer, or raise `APIResponseError` naming the URL and status."""
        url = str(response.request.url)
        if response.is_client_error:
            if response.status_code != 404:
                log.warning(
                    "the PlugIt API refused %s %s with %d (check the API URL and key)",
                    self.method,
                    url,
                    response.status_code,
                )
            return self.refused
        if not response.is_success:
            raise APIResponseError(
                f"the PlugIt API answered {response.status_code} to "
                f"{self.method} {url}: {response.text[:200]!r}",
                response.status_code,
            )
        try:
            return self.read(response.json())
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise APIResponseError(
                f"the PlugIt API answered {self.method} {url} ({response.status_code}) "
                f"with an unexpected body ({error}): {response.text[:200]!r}",
                response.status_code,
            ) from None


def _segment(pk: Any) -> str:
    """A primary key or UUID as one safe path segment."""
    text = str(pk)
    if not text or text in {".", ".."}:
        raise ValueError(f"{pk!r} is not a primary key")
    return urllib.parse.quote(text, safe="")


def _expect(kind: type[T], value: Any, what: str) -> T:
    if not isinstance(value, kind):
        raise TypeError(f"{what} should be a {kind.__name__}, not {type(value).__name__}")
    return value


def _user_call(pk: Any) -> _Call[User | None]:
    return _Call(
        "GET",
        f"user/{_segment(pk)}",
        lambda body: User.from_json(_expect(dict, body, "the user"), pk),
        refused=None,
    )


def _orga_call(pk: Any) -> _Call[Orga | None]:
    return _Call(
        "GET",
        f"orga/{_segment(pk)}",
        lambda body: Orga.from_json(_expect(dict, body, "the organisation")),
        refused=None,
    )


def _orgas_call() -> _Call[list[Orga] | None]:
    def read(body: Any) -> list[Orga]:
        items = _expect(list, _expect(dict, body, "the answer")["data"], "'data'")
        return [Orga.from_json(_expect(dict, item, "an organisation")) for item in items]

    return _Call("GET", "orgas/", read, refused=None)


def _members_call() -> _Call[list[User] | None]:
    def read(body: Any) -> list[User]:
        items = _expect(list, _expect(dict, body, "the answer")["members"], "'members'")
        return [User.from_json(_expect(dict, item, "a member")) for item in items]

    return _Call("GET", "members/", read, refused=None)


def _subscriptions_call(pk: Any) -> _Call[list[str]]:
    def read(body: Any) -> list[str]:
        return [str(label) for label in _expect(list, body, "the labels")]

    return _Call("GET", f"subscriptions/{_segment(pk)}", read, refused=[])


def _mail_call(
    sender: str,
    subject: str,
    recipients: str | Sequence[str],
    message: str,
    response_id: str | None,
    html_message: bool,
) -> _Call[bool]:
    dests = [recipients] if isinstance(recipients, str) else [str(r) for r in recipients]
    form: Form = {
        "sender": sender,
        "subject": subject,
        "message": message,
        "dests": dests,
        "html_message": encode_bool(html_message),
    }
    if response_id is not None:
        form["response_id"] = str(response_id)
    return _Call("POST", "mail/", _sent, refused=False, form=form)


def _sent(body: Any) -> bool:
    """The proxy answers `{}` once it has taken the mail."""
    _expect(dict, body, "the answer")
    return True


FORUM_PATH = "ebuio/forum/"


def _json(body: Any) -> Any:
    return body


def _forum_call() -> _Call[Any]:
    return _Call("GET", FORUM_PATH, _json, refused=None)


def _forum_topic_call(subject: str, author: Any, message: str, tags: str) -> _Call[Any]:
    form: Form = {"subject": subject, "author": str(author), "message": message, "tags": tags}
    return _Call("POST", FORUM_PATH, _json, refused=None, form=form)


def _forum_by_tag_call(tag: str, author: Any | None) -> _Call[list[Any] | None]:
    def read(body: Any) -> list[Any]:
        return list(_expect(list, _expect(dict, body, "the answer")["data"], "'data'"))

    params = None if author is None else {"u": str(author)}
    path = f"{FORUM_PATH}search/bytag/{_segment(tag)}"
    return _Call("GET", path, read, refused=None, params=params)


# -- The clients ----------------------------------------------------------------------------------
def _root(url: str) -> str:
    """The API root with its trailing slash; a URL that is not http(s) is a configuration error."""
    parsed = urllib.parse.urlsplit(url or "")
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ConfigurationError(
            f"the PlugIt API URL must be an http(s) URL such as "
            f"'http://127.0.0.1:8000/plugIt/ebuio_api/', not {url!r}"
        )
    return url if url.endswith("/") else url + "/"


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _connection_error(method: str, url: str, error: httpx.TransportError) -> APIConnectionError:
    if isinstance(error, httpx.TimeoutException):
        reason = "did not answer in time"
    else:
        reason = f"could not be reached: {error or type(error).__name__}"
    return APIConnectionError(f"the PlugIt API {reason} ({method} {url})")


class _Base:
    """What both clients share: the API root and the call builders."""

    url: str

    def _target(self, call: _Call[Any]) -> str:
        return self.url + call.path


class PlugItAPI(_Base):
    """A blocking client of the proxy's API; use it as a context manager, or `close()` it."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = _root(url)
        self._http = httpx.Client(timeout=timeout, headers=_headers(api_key), transport=transport)

    def get_user(self, userPk: int | str) -> User | None:
        """The user with this primary key or UUID, or None when the proxy does not know it."""
        return self._run(_user_call(userPk))

    def get_orga(self, orgaPk: int | str) -> Orga | None:
        """The organisation with this primary key, or None when unknown."""
        return self._run(_orga_call(orgaPk))

    def get_orgas(self) -> list[Orga] | None:
        """Every organisation of the platform (None when the proxy refuses)."""
        return self._run(_orgas_call())

    def get_project_members(self) -> list[User] | None:
        """The members of the project (None when the proxy refuses)."""
        return self._run(_members_call())

    def get_subscription_labels(self, userPk: int | str) -> list[str]:
        """The labels of the subscriptions the user holds for this project ([] when refused)."""
        return self._run(_subscriptions_call(userPk))

    def send_mail(
        self,
        sender: str,
        subject: str,
        recipients: str | Sequence[str],
        message: str,
        response_id: str | None = None,
        html_message: bool = False,
    ) -> bool:
        """Have the platform send a mail (False when refused); replies reach `response_id`."""
        return self._run(
            _mail_call(sender, subject, recipients, message, response_id, html_message)
        )

    def ebuio_forum(self) -> Any:
        """The forum's entry point, as JSON (None when refused: this platform has no forum)."""
        return self._run(_forum_call())

    def forum_create_topic(self, subject: str, author: Any, message: str, tags: str = "") -> Any:
        """Open a forum topic; the proxy's JSON answer (None when refused: no forum here)."""
        return self._run(_forum_topic_call(subject, author, message, tags))

    def forum_topic_get_by_tag_for_user(
        self, tag: str | None = None, author: Any | None = None
    ) -> list[Any] | None:
        """The forum topics with `tag` (for `author` when given); None without a tag or forum."""
        if not tag:
            return None
        return self._run(_forum_by_tag_call(tag, author))

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

    def _run(self, call: _Call[T]) -> T:
        url = self._target(call)
        try:
            response = self._http.request(call.method, url, data=call.form, params=call.params)
        except httpx.TransportError as error:
            raise _connection_error(call.method, url, error) from error
        return call.result(response)


class AsyncPlugItAPI(_Base):
    """The async twin of `PlugItAPI`: same methods, awaitable; `async with` or `aclose()`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = _root(url)
        self._http = httpx.AsyncClient(
            timeout=timeout, headers=_headers(api_key), transport=transport
        )

    async def get_user(self, userPk: int | str) -> User | None:
        """The user with this primary key or UUID, or None when the proxy does not know it."""
        return await self._run(_user_call(userPk))

    async def get_orga(self, orgaPk: int | str) -> Orga | None:
        """The organisation with this primary key, or None when unknown."""
        return await self._run(_orga_call(orgaPk))

    async def get_orgas(self) -> list[Orga] | None:
        """Every organisation of the platform (None when the proxy refuses)."""
        return await self._run(_orgas_call())

    async def get_project_members(self) -> list[User] | None:
        """The members of the project (None when the proxy refuses)."""
        return await self._run(_members_call())

    async def get_subscription_labels(self, userPk: int | str) -> list[str]:
        """The labels of the subscriptions the user holds for this project ([] when refused)."""
        return await self._run(_subscriptions_call(userPk))

    async def send_mail(
        self,
        sender: str,
        subject: str,
        recipients: str | Sequence[str],
        message: str,
        response_id: str | None = None,
        html_message: bool = False,
    ) -> bool:
        """Have the platform send a mail (False when refused); replies reach `response_id`."""
        call = _mail_call(sender, subject, recipients, message, response_id, html_message)
        return await self._run(call)

    async def ebuio_forum(self) -> Any:
        """The forum's entry point, as JSON (None when refused: this platform has no forum)."""
        return await self._run(_forum_call())

    async def forum_create_topic(
        self, subject: str, author: Any, message: str, tags: str = ""
    ) -> Any:
        """Open a forum topic; the proxy's JSON answer (None when refused: no forum here)."""
        return await self._run(_forum_topic_call(subject, author, message, tags))

    async def forum_topic_get_by_tag_for_user(
        self, tag: str | None = None, author: Any | None = None
    ) -> list[Any] | None:
        """The forum topics with `tag` (for `author` when given); None without a tag or forum."""
        if not tag:
            return None
        return await self._run(_forum_by_tag_call(tag, author))

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, call: _Call[T]) -> T:
        url = self._target(call)
        try:
            response = await self._http.request(
                call.method, url, data=call.form, params=call.params
            )
        except httpx.TransportError as error:
            raise _connection_error(call.method, url, error) from error
        return call.result(response)
