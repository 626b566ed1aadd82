"""Actions: typed records of what the decorators declare, and the decorators themselves.

Decorators only *record*: each writes into the `ActionSpec` of the function it decorates and
returns the function unchanged, so they stack in any order. A `Service` later adopts the
specs of its actions (explicitly, or every spec of a module with `load_actions`) and builds
its routes from them.

The spec is the source of truth. Each decorator also mirrors what it recorded as the
function attributes the original PlugIt set (`pi_api_action`, `pi_api_route`,
`pi_api_only_logged_user`, ...), because existing services and their tests introspect
them; PlugIt itself never reads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from plugit.exceptions import ConfigurationError
from plugit.protocol import Meta
from plugit.routing import Route, compile_route
from plugit.settings import parse_networks

__all__ = [
    "ActionSpec",
    "action",
    "address_in_networks",
    "cache",
    "crossdomain",
    "declare_action",
    "declared_in",
    "json_only",
    "no_template",
    "only_admin_user",
    "only_logged_user",
    "only_member_user",
    "only_orga_admin_user",
    "only_orga_member_user",
    "public",
    "send_etag",
    "spec_of",
    "user_info",
    "xml_only",
]

F = TypeVar("F", bound=Callable[..., Any])

ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CrossDomain:
    """What `@crossdomain` declares; header values are computed when the action is adopted."""

    origin: str
    methods: tuple[str, ...] | None
    headers: str | None
    max_age: int

    def headers_for(self, action_methods: Sequence[str]) -> dict[str, str]:
        """The CORS headers every answer of the action carries."""
        methods = self.methods if self.methods is not None else (*action_methods, "OPTIONS")
        answer = {
            "Access-Control-Allow-Origin": self.origin,
            "Access-Control-Allow-Methods": ", ".join(sorted({m.upper() for m in methods})),
            "Access-Control-Max-Age": str(self.max_age),
        }
        if self.headers is not None:
            answer["Access-Control-Allow-Headers"] = self.headers
        return answer


@dataclasses.dataclass(kw_only=True)
class ActionSpec:
    """Everything declared about one action."""

    func: Callable[..., Any]
    route: str | None = None
    template: str = ""
    methods: tuple[str, ...] = ("GET",)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    send_etag: bool = False
    crossdomain: CrossDomain | None = None
    compiled: Route | None = None

    @property
    def name(self) -> str:
        """The action's function name, for logs."""
        return getattr(self.func, "__qualname__", repr(self.func))

    def meta_object(self, template_tag: str) -> Meta:
        """The JSON meta object: the template tag plus only the keys decorators set."""
        meta: Meta = {"template_tag": template_tag}
        meta.update(self.meta)  # type: ignore[typeddict-item]
        return meta

    @functools.cached_property
    def accepted_methods(self) -> frozenset[str]:
        """Methods the action answers (HEAD with GET; OPTIONS when crossdomain).

        Computed once, on the first call (the registry is frozen by then).
        """
        methods = set(self.methods)
        if "GET" in methods:
            methods.add("HEAD")
        if self.crossdomain is not None:
            methods.add("OPTIONS")
        return frozenset(methods)


# Specs of decorated functions not yet adopted by a service. Weak keys: a function that is
# thrown away takes its spec with it.
_specs: weakref.WeakKeyDictionary[Callable[..., Any], ActionSpec] = weakref.WeakKeyDictionary()


def spec_of(func: Callable[..., Any]) -> ActionSpec:
    """Return the spec recorded for `func`, creating an empty one the first time."""
    if not callable(func):
        raise ConfigurationError(f"PlugIt decorators apply to functions, not {func!r}")
    spec = _specs.get(func)
    if spec is None:
        spec = _specs[func] = ActionSpec(func=func)
    return spec


def declared_in(module_name: str, namespace: Iterable[Any] = ()) -> list[ActionSpec]:
    """Specs with a route whose function was defined in, or is exported by, a module."""
    exported = {id(value) for value in namespace}
    return [
        spec
        for func, spec in list(_specs.items())
        if spec.route is not None
        and (getattr(func, "__module__", None) == module_name or id(func) in exported)
    ]


def declare_action(
    func: F, route: str, template: str = "", methods: Sequence[str] = ("GET",)
) -> ActionSpec:
    """Record route, template and methods on `func`'s spec (what `@action` does)."""
    if isinstance(methods, str):
        methods = [methods]
    upper = tuple(dict.fromkeys(method.upper() for method in methods))
    unknown = set(upper) - set(ALL_METHODS)
    if unknown:
        raise ConfigurationError(f"action {route!r} declares unknown methods {sorted(unknown)}")
    spec = spec_of(func)
    spec.compiled = compile_route(route)
    spec.route, spec.template, spec.methods = route, template or "", upper
    _mirror(func, action=True, route=route, template=spec.template)
    _mirror_methods(spec)
    return spec


def _mirror(func: Callable[..., Any], **attributes: Any) -> None:
    """Set `pi_api_<name>` on `func`, as the original decorators did."""
    for name, value in attributes.items():
        # A callable that takes no attributes (a bound method, a builtin) just has no mirror.
        with contextlib.suppress(AttributeError, TypeError):
            setattr(func, "pi_api_" + name, list(value) if isinstance(value, list) else value)


def _mirror_methods(spec: ActionSpec) -> None:
    """`pi_api_methods`: the declared methods, plus OPTIONS under `@crossdomain`."""
    if spec.route is None:  # @crossdomain below @action: @action will write it
        return
    methods = list(spec.methods)
    if spec.crossdomain is not None and "OPTIONS" not in methods:
        methods.append("OPTIONS")
    _mirror(spec.func, methods=methods)


def _recorder(**meta: Any) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        spec_of(func).meta.update(meta)
        _mirror(func, **meta)
        return func

    return decorate


def action(route: str, template: str = "", methods: Sequence[str] = ("GET",)) -> Callable[[F], F]:
    """Declare a function as the action answering `route` (Werkzeug syntax)."""

    def decorate(func: F) -> F:
        declare_action(func, route, template, methods)
        return func

    return decorate


def only_logged_user() -> Callable[[F], F]:
    """Only signed-in users may see the action."""
    return _recorder(only_logged_user=True)


def only_member_user() -> Callable[[F], F]:
    """Only members of the project may see the action."""
    return _recorder(only_member_user=True)


def only_admin_user() -> Callable[[F], F]:
    """Only administrators of the project may see the action."""
    return _recorder(only_admin_user=True)


def only_orga_member_user() -> Callable[[F], F]:
    """Only members of the current organisation may see the action."""
    return _recorder(only_orga_member_user=True)


def only_orga_admin_user() -> Callable[[F], F]:
    """Only administrators of the current organisation may see the action."""
    return _recorder(only_orga_admin_user=True)


def cache(time: int = 0, byUser: bool | None = None) -> Callable[[F], F]:
    """Let the proxy cache the rendered page `time` seconds, per user or shared."""
    if not isinstance(time, int) or time < 0:
        raise ConfigurationError(f"@cache(time=...) takes seconds >= 0, not {time!r}")
    return _recorder(cache_time=time, cache_by_user=byUser)


def user_info(props: Sequence[str] = ()) -> Callable[[F], F]:
    """Ask the proxy to add these user properties (`ebuio_u_<name>`) to the call."""
    if isinstance(props, str):
        props = [props]
    return _recorder(user_info=list(props))


def public() -> Callable[[F], F]:
    """The page is public even in organisation mode."""
    return _recorder(public=True)


def json_only() -> Callable[[F], F]:
    """The proxy returns the action's JSON to the browser, with no template."""
    return _recorder(json_only=True)


def xml_only() -> Callable[[F], F]:
    """The proxy returns the `xml` item of the action's result as application/xml."""
    return _recorder(xml_only=True)


def no_template() -> Callable[[F], F]:
    """The action's rendered template is the whole page, without the proxy's layout."""
    return _recorder(no_template=True)


def address_in_networks(networks: Sequence[str] = ()) -> Callable[[F], F]:
    """Only browsers whose address lies in one of these CIDR networks may see the action."""
    if isinstance(networks, str):
        networks = [networks]
    parse_networks(networks)  # fail at import time on a malformed network
    return _recorder(address_in_networks=[str(network) for network in networks])


def send_etag() -> Callable[[F], F]:
    """Send the result's `_plugit_etag` item as the answer's ETag header."""

    def decorate(func: F) -> F:
        spec_of(func).send_etag = True
        _mirror(func, send_etag=True)
        return func

    return decorate


def crossdomain(
    origin: str | Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    headers: str | Sequence[str] | None = None,
    max_age: int | datetime.timedelta = 21600,
    **_ignored: Any,
) -> Callable[[F], F]:
    """Answer OPTIONS and add CORS headers to every answer of the action."""
    arguments = {
        "origin": origin,
        "methods": methods,
        "headers": headers,
        "max_age": max_age,
        **_ignored,
    }
    if isinstance(max_age, datetime.timedelta):
        max_age = int(max_age.total_seconds())
    if isinstance(headers, str):
        headers = [headers]
    record = CrossDomain(
        origin="*" if origin is None else origin if isinstance(origin, str) else ", ".join(origin),
        methods=None if methods is None else tuple(m.upper() for m in methods),
        headers=None if headers is None else ", ".join(h.upper() for h in headers),
        max_age=max_age,
    )

    def decorate(func: F) -> F:
        spec = spec_of(func)
        spec.crossdomain = record
        _mirror(func, crossdomain=True, crossdomain_data=dict(arguments))
        _mirror_methods(spec)
        return func

    return decorate
