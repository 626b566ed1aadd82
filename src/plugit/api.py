"""The service-side client of the proxy's API (PROTOCOL.md §6), blocking and async.

```python
with PlugItAPI(settings.api_url) as api:
    user = api.get_user(42)          # a `User`, or None when the proxy does not know it
    api.send_mail("noreply@example.org", "Hello", ["a@example.org"], "Hi!")
```

`AsyncPlugItAPI` has the same methods, awaitable. Both build each call and read each answer
with the same functions below; only the transport differs. A call that cannot reach the
proxy raises `APIConnectionError`; an error status or a body that is not JSON raises
`APIResponseError`.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from plugit.exceptions import APIConnectionError, APIResponseError, ConfigurationError
from plugit.protocol import encode_bool

__all__ = ["AsyncPlugItAPI", "Orga", "PlugItAPI", "User"]

T = TypeVar("T")
Form = dict[str, str | list[str]]

DEFAULT_TIMEOUT = 10.0


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
        return cls(
            pk=data.get("pk", data.get("id")),
            name=str(data.get("name") or ""),
            codops=str(data.get("codops") or ""),
            is_admin=_to_bool(data.get("is_admin")),
            _raw=dict(data),
        )


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class User(_Record):
    """A platform user: the fields the project may see, and the user's organisations.

    Fields the proxy sends beyond the typed ones are attributes too (`user.some_field`).
    """

    pk: Any
    id: str
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    ebuio_member: bool = False
    ebuio_admin: bool = False
    ebuio_orga_member: bool = False
    ebuio_orga_admin: bool = False
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
        return cls(
            pk=pk,
            id=str(data.get("id", pk)),
            username=str(data.get("username") or ""),
            first_name=str(data.get("first_name") or ""),
            last_name=str(data.get("last_name") or ""),
            email=str(data.get("email") or ""),
            ebuio_member=_to_bool(data.get("ebuio_member")),
            ebuio_admin=_to_bool(data.get("ebuio_admin")),
            ebuio_orga_member=_to_bool(data.get("ebuio_orga_member")),
            ebuio_orga_admin=_to_bool(data.get("ebuio_orga_admin")),
            orgas=[Orga.from_json(orga) for orga in orgas],
            _raw=dict(data),
        )


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
    """A request to the API and the reader of its JSON answer."""

    method: str
    path: str
    read: Callable[[Any], T]
    form: Form | None = None
    if_not_found: tuple[T] | None = None  # the result when the API answers 404

    def result(self, response: httpx.Response) -> T:
        """Read the answer, or raise `APIResponseError` naming the URL and status."""
        url = str(response.request.url)
        if response.status_code == 404 and self.if_not_found is not None:
            return self.if_not_found[0]
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
        if_not_found=(None,),
    )


def _orga_call(pk: Any) -> _Call[Orga | None]:
    return _Call(
        "GET",
        f"orga/{_segment(pk)}",
        lambda body: Orga.from_json(_expect(dict, body, "the organisation")),
        if_not_found=(None,),
    )


def _orgas_call() -> _Call[list[Orga]]:
    def read(body: Any) -> list[Orga]:
        items = _expect(list, _expect(dict, body, "the answer")["data"], "'data'")
        return [Orga.from_json(_expect(dict, item, "an organisation")) for item in items]

    return _Call("GET", "orgas/", read)


def _members_call() -> _Call[list[User]]:
    def read(body: Any) -> list[User]:
        items = _expect(list, _expect(dict, body, "the answer")["members"], "'members'")
        return [User.from_json(_expect(dict, item, "a member")) for item in items]

    return _Call("GET", "members/", read)


def _subscriptions_call(pk: Any) -> _Call[list[str]]:
    def read(body: Any) -> list[str]:
        return [str(label) for label in _expect(list, body, "the labels")]

    return _Call("GET", f"subscriptions/{_segment(pk)}", read, if_not_found=([],))


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
    return _Call("POST", "mail/", _sent, form)


def _sent(body: Any) -> bool:
    """The proxy answers `{}` once it has taken the mail."""
    _expect(dict, body, "the answer")
    return True


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

    def get_user(self, pk: int | str) -> User | None:
        """The user with this primary key or UUID, or None when the proxy does not know it."""
        return self._run(_user_call(pk))

    def get_orga(self, pk: int | str) -> Orga | None:
        """The organisation with this primary key, or None when unknown."""
        return self._run(_orga_call(pk))

    def get_orgas(self) -> list[Orga]:
        """Every organisation of the platform."""
        return self._run(_orgas_call())

    def get_project_members(self) -> list[User]:
        """The members of the project."""
        return self._run(_members_call())

    def get_subscription_labels(self, pk: int | str) -> list[str]:
        """The labels of the subscriptions the user holds for this project ([] when unknown)."""
        return self._run(_subscriptions_call(pk))

    def send_mail(
        self,
        sender: str,
        subject: str,
        recipients: str | Sequence[str],
        message: str,
        response_id: str | None = None,
        html_message: bool = False,
    ) -> bool:
        """Have the platform send a mail; replies reach the service when `response_id` is set."""
        return self._run(
            _mail_call(sender, subject, recipients, message, response_id, html_message)
        )

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
            response = self._http.request(call.method, url, data=call.form)
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

    async def get_user(self, pk: int | str) -> User | None:
        """The user with this primary key or UUID, or None when the proxy does not know it."""
        return await self._run(_user_call(pk))

    async def get_orga(self, pk: int | str) -> Orga | None:
        """The organisation with this primary key, or None when unknown."""
        return await self._run(_orga_call(pk))

    async def get_orgas(self) -> list[Orga]:
        """Every organisation of the platform."""
        return await self._run(_orgas_call())

    async def get_project_members(self) -> list[User]:
        """The members of the project."""
        return await self._run(_members_call())

    async def get_subscription_labels(self, pk: int | str) -> list[str]:
        """The labels of the subscriptions the user holds for this project ([] when unknown)."""
        return await self._run(_subscriptions_call(pk))

    async def send_mail(
        self,
        sender: str,
        subject: str,
        recipients: str | Sequence[str],
        message: str,
        response_id: str | None = None,
        html_message: bool = False,
    ) -> bool:
        """Have the platform send a mail; replies reach the service when `response_id` is set."""
        call = _mail_call(sender, subject, recipients, message, response_id, html_message)
        return await self._run(call)

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
            response = await self._http.request(call.method, url, data=call.form)
        except httpx.TransportError as error:
            raise _connection_error(call.method, url, error) from error
        return call.result(response)
