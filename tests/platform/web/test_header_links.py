"""The layout header's platform links on one shared origin (`/p/<slug>/`): the proxy answers
`ebuio_login`, `ebuio_logout` and `ebuio_home` with the platform's own pages.
"""

from __future__ import annotations

from plugit_platform_launch import Platform


def test_header_links_lead_to_the_platform_pages(platform: Platform) -> None:
    client = platform.client()
    page = client.get("/p/alpha/")
    assert 'href="/p/alpha/ebuio_login?next=/p/alpha/"' in page.text
    sign_in = client.get("/p/alpha/ebuio_login", params={"next": "/p/alpha/logged"})
    assert sign_in.status_code == 302
    assert sign_in.headers["location"] == "/accounts/login/?next=%2Fp%2Falpha%2Flogged"
    assert client.get("/p/alpha/ebuio_logout").headers["location"] == "/accounts/logout/"
    assert client.get("/p/alpha/ebuio_home").headers["location"] == "/"


def test_the_sign_in_link_never_leaves_the_platform(platform: Platform) -> None:
    client = platform.client()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = client.get("/p/alpha/ebuio_login", params={"next": target})
        assert answer.headers["location"] == "/accounts/login/?next=%2F", target
