"""`GET meta<route>`: the template tag plus only the keys the action's decorators set."""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import sys
import time

import httpx
import pytest

from plugit import Service, Settings
from plugit.utils import (
    action,
    address_in_networks,
    cache,
    json_only,
    no_template,
    only_admin_user,
    only_logged_user,
    only_member_user,
    only_orga_admin_user,
    only_orga_member_user,
    public,
    user_info,
    xml_only,
)

from .conftest import ConnectFn
from .helpers import TEMPLATE_TEXT, make_service, service_folder

TAG = hashlib.md5(TEMPLATE_TEXT.encode()).hexdigest()


@action(route="/", template="home.html")
def home(request):
    return {}


@action(route="/plain")
def plain(request):
    return {}


@action(route="/all/<int:pk>", template="sub/nested.html", methods=["GET", "POST"])
@only_logged_user()
@only_member_user()
@only_admin_user()
@only_orga_member_user()
@only_orga_admin_user()
@cache(time=120, byUser=True)
@user_info(props=["username", "ebuio_admin"])
@public()
@json_only()
@xml_only()
@no_template()
@address_in_networks(networks=["10.0.0.0/8", "2001:db8::/32"])
def everything(request, pk):
    return {}


@action(route="/cached")
@cache(time=60)
def shared_cache(request):
    return {}


@action(route="/missing-template", template="nope.html")
def missing_template(request):
    return {}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = make_service(tmp_path_factory.mktemp("meta"))
    assert service.add_module(sys.modules[__name__]) == 5
    return service


async def test_meta_of_plain_action_is_only_the_empty_tag(client: httpx.AsyncClient) -> None:
    answer = await client.get("/meta/plain")
    assert answer.status_code == 200
    assert answer.json() == {"template_tag": ""}


async def test_template_tag_is_md5_of_the_file_bytes(client: httpx.AsyncClient) -> None:
    answer = await client.get("/meta/")
    assert answer.json() == {"template_tag": TAG}


async def test_every_decorator_sets_its_key(client: httpx.AsyncClient) -> None:
    answer = await client.get("/meta/all/5")
    nested = hashlib.md5("nested ✓\n".encode()).hexdigest()
    assert answer.json() == {
        "template_tag": nested,
        "only_logged_user": True,
        "only_member_user": True,
        "only_admin_user": True,
        "only_orga_member_user": True,
        "only_orga_admin_user": True,
        "cache_time": 120,
        "cache_by_user": True,
        "user_info": ["username", "ebuio_admin"],
        "public": True,
        "json_only": True,
        "xml_only": True,
        "no_template": True,
        "address_in_networks": ["10.0.0.0/8", "2001:db8::/32"],
    }


async def test_cache_without_by_user_sends_null(client: httpx.AsyncClient) -> None:
    answer = await client.get("/meta/cached")
    assert answer.json() == {"template_tag": "", "cache_time": 60, "cache_by_user": None}
    assert "null" in answer.text


async def test_missing_template_file_gives_empty_tag(client: httpx.AsyncClient) -> None:
    answer = await client.get("/meta/missing-template")
    assert answer.json() == {"template_tag": ""}


async def test_meta_of_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/meta/nowhere")).status_code == 404
    assert (await client.get("/meta/all/not-an-int")).status_code == 404


async def test_meta_is_get_only(client: httpx.AsyncClient) -> None:
    assert (await client.post("/meta/")).status_code == 405


async def test_default_expiry_is_300_seconds(client: httpx.AsyncClient) -> None:
    before = time.time()
    answer = await client.get("/meta/")
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert "expires" not in answer.headers  # the protocol says Expire, sic
    expire = email.utils.parsedate_to_datetime(answer.headers["expire"])
    assert expire.tzinfo is not None
    assert before + 299 <= expire.timestamp() <= time.time() + 301
    assert answer.headers["expire"].endswith(" GMT")


@pytest.mark.parametrize(
    ("settings", "max_age"),
    [
        ({"debug": True}, 0),
        ({"meta_cache": 42}, 42),
        ({"debug": True, "meta_cache": 7}, 7),
        ({}, 300),
    ],
)
async def test_max_age_follows_settings(
    connect: ConnectFn, tmp_path, settings: dict, max_age: int
) -> None:
    service = Service(root=service_folder(tmp_path), settings=Settings(**settings))
    service.action("/", template="home.html")(lambda request: {})
    answer = await connect(service).get("/meta/")
    assert answer.headers["cache-control"] == f"public, max-age={max_age}"
    expire = email.utils.parsedate_to_datetime(answer.headers["expire"])
    now = datetime.datetime.now(datetime.UTC)
    assert abs((expire - now).total_seconds() - max_age) <= 2


async def test_pi_meta_cache_from_config_module(connect: ConnectFn, tmp_path) -> None:
    settings = Settings.load({"PI_META_CACHE": 17, "DEBUG": True}, environ={})
    service = Service(root=service_folder(tmp_path), settings=settings)
    service.action("/")(lambda request: {})
    answer = await connect(service).get("/meta/")
    assert answer.headers["cache-control"] == "public, max-age=17"


async def test_template_tag_follows_file_changes_in_debug(connect: ConnectFn, tmp_path) -> None:
    service = Service(root=service_folder(tmp_path), settings=Settings(debug=True))
    service.action("/", template="home.html")(lambda request: {})
    client = connect(service)
    first = (await client.get("/meta/")).json()["template_tag"]
    (tmp_path / "templates" / "home.html").write_text("changed")
    second = (await client.get("/meta/")).json()["template_tag"]
    assert first == TAG
    assert second == hashlib.md5(b"changed").hexdigest()
