"""Decorators also set the `pi_api_*` attributes the original set: services introspect them."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugit import Request, Service, Settings
from plugit.actions import spec_of
from plugit.testing import LiveServer
from plugit.utils import (
    action,
    address_in_networks,
    cache,
    crossdomain,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    send_etag,
    user_info,
    xml_only,
)


def pi_api(func: Any) -> dict[str, Any]:
    """The `pi_api_*` attributes of a function, as service code would introspect them."""
    return {name: getattr(func, name) for name in dir(func) if name.startswith("pi_api_")}


@action(route="/", template="home.html")
def home(request: Request) -> dict[str, Any]:
    return {}


@action(route="/all/<int:pk>", template="all.html", methods=["GET", "POST"])
@only_logged_user()
@only_member_user()
@only_admin_user()
@only_orga_member_user()
@only_orga_admin_user()
@cache(time=60, byUser=True)
@user_info(props=["username", "email"])
@public()
@json_only()
@xml_only()
@no_template()
@address_in_networks(networks=["10.0.0.0/8"])
@send_etag()
def everything(request: Request, pk: int) -> dict[str, Any]:
    return {}


@action(route="/cors-outer", methods=["GET", "POST"])
@crossdomain(origin="*", max_age=600)
def cors_below_action(request: Request) -> dict[str, Any]:
    return {}


@crossdomain(origin=["https://a.example", "https://b.example"], headers=["x-token"])
@action(route="/cors-inner")
def cors_above_action(request: Request) -> dict[str, Any]:
    return {}


def test_action_alone() -> None:
    assert pi_api(home) == {
        "pi_api_action": True,
        "pi_api_route": "/",
        "pi_api_template": "home.html",
        "pi_api_methods": ["GET"],
    }


def test_every_access_and_output_decorator() -> None:
    assert pi_api(everything) == {
        "pi_api_action": True,
        "pi_api_route": "/all/<int:pk>",
        "pi_api_template": "all.html",
        "pi_api_methods": ["GET", "POST"],
        "pi_api_only_logged_user": True,
        "pi_api_only_member_user": True,
        "pi_api_only_admin_user": True,
        "pi_api_only_orga_member_user": True,
        "pi_api_only_orga_admin_user": True,
        "pi_api_cache_time": 60,
        "pi_api_cache_by_user": True,
        "pi_api_user_info": ["username", "email"],
        "pi_api_public": True,
        "pi_api_json_only": True,
        "pi_api_xml_only": True,
        "pi_api_no_template": True,
        "pi_api_address_in_networks": ["10.0.0.0/8"],
        "pi_api_send_etag": True,
    }


def test_cache_without_by_user() -> None:
    @cache(time=5)
    def cached(request: Request) -> None:
        return None

    assert (cached.pi_api_cache_time, cached.pi_api_cache_by_user) == (5, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("func", [cors_below_action, cors_above_action])
def test_crossdomain_adds_options_whatever_the_order(func: Any) -> None:
    attributes = pi_api(func)
    assert attributes["pi_api_crossdomain"] is True
    assert attributes["pi_api_methods"][-1] == "OPTIONS"
    assert attributes["pi_api_methods"].count("OPTIONS") == 1


def test_crossdomain_data_holds_its_arguments() -> None:
    assert pi_api(cors_below_action)["pi_api_methods"] == ["GET", "POST", "OPTIONS"]
    assert cors_below_action.pi_api_crossdomain_data == {  # type: ignore[attr-defined]
        "origin": "*",
        "methods": None,
        "headers": None,
        "max_age": 600,
    }
    assert pi_api(cors_above_action)["pi_api_methods"] == ["GET", "OPTIONS"]
    assert cors_above_action.pi_api_crossdomain_data == {  # type: ignore[attr-defined]
        "origin": ["https://a.example", "https://b.example"],
        "methods": None,
        "headers": ["x-token"],
        "max_age": 21600,
    }


def test_crossdomain_data_keeps_options_it_ignores() -> None:
    hours = datetime.timedelta(hours=1)

    @crossdomain(methods=["get"], max_age=hours, attach_to_all=False)
    def options(request: Request) -> None:
        return None

    assert options.pi_api_crossdomain_data == {  # type: ignore[attr-defined]
        "origin": None,
        "methods": ["get"],
        "headers": None,
        "max_age": hours,
        "attach_to_all": False,
    }
    assert not hasattr(options, "pi_api_methods")  # no @action: no route, no methods


def test_options_already_declared_is_not_repeated() -> None:
    @crossdomain()
    @action(route="/opt", methods=["GET", "OPTIONS"])
    def opt(request: Request) -> None:
        return None

    assert opt.pi_api_methods == ["GET", "OPTIONS"]  # type: ignore[attr-defined]


def test_changing_a_mirror_does_not_change_the_action(tmp_path: Path) -> None:
    service = Service("mirrors", root=tmp_path, settings=Settings())

    @service.action("/who")
    @user_info(props=["username"])
    def who(request: Request) -> dict[str, Any]:
        return {}

    assert who.pi_api_route == "/who"  # type: ignore[attr-defined]
    who.pi_api_user_info.append("email")  # type: ignore[attr-defined]
    who.pi_api_route = "/elsewhere"  # type: ignore[attr-defined]
    with LiveServer(service) as server:
        meta = httpx.get(server.url + "/meta/who").json()
    assert meta == {"template_tag": "", "user_info": ["username"]}


def test_a_callable_without_attributes_is_still_declared() -> None:
    class Handler:
        def __call__(self, request: Request) -> None:
            return None

    bound = Handler().__call__
    only_logged_user()(bound)
    assert not hasattr(bound, "pi_api_only_logged_user")
    assert spec_of(bound).meta == {"only_logged_user": True}
