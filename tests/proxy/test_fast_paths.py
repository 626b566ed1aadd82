"""The hot path's shortcuts give exactly what the slower originals give."""

from __future__ import annotations

import argparse
import json

import pytest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_TOKEN_LENGTH
from multidict import CIMultiDict, CIMultiDictProxy

from plugit_proxy.cli import configuration_from_args, register
from plugit_proxy.csrf import mask_secret, new_secret
from plugit_proxy.djangointernals import (
    check_token_format,
    does_token_match,
    unmask_cipher_token,
)
from plugit_proxy.upstream import ProtocolViolation, UpstreamAnswer


def test_masked_tokens_are_djangos() -> None:
    secret = new_secret()
    tokens = {mask_secret(secret) for _ in range(200)}
    assert len(tokens) == 200  # a new mask every time (BREACH)
    for token in tokens:
        assert len(token) == CSRF_TOKEN_LENGTH
        assert set(token) <= set(CSRF_ALLOWED_CHARS)
        check_token_format(token)
        assert unmask_cipher_token(token) == secret
        assert does_token_match(token, secret)


def test_masks_use_every_character() -> None:
    masks = "".join(mask_secret(new_secret())[:32] for _ in range(300))
    assert set(masks) == set(CSRF_ALLOWED_CHARS)


def answer(body: bytes) -> UpstreamAnswer:
    return UpstreamAnswer(
        status=200, headers=CIMultiDictProxy(CIMultiDict()), url="http://svc/", body=body
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [1, 2.5, "\\u00e9t\\u00e9", null, true], "b": {"c": "d"}}',
        b'{"a": 1, "a": 2}',
        b'{"big": 123456789012345678901234567890}',
        b"[-9223372036854775809, 18446744073709551616, 1e400, 0.1]",
        b'{"nan": NaN, "inf": -Infinity}',
        b'["\\ud800"]',
        '{"utf16": "été"}'.encode("utf-16"),
        b"[]",
        b'"just a string"',
    ],
)
def test_json_answers_decode_as_the_json_module_does(body: bytes) -> None:
    decoded = answer(body).json()
    expected = json.loads(body)
    assert json.dumps(decoded) == json.dumps(expected)


@pytest.mark.parametrize("body", [b"{", b"{'a': 1}", b"\xff\xfe\x00"])
def test_bad_json_is_a_protocol_violation(body: bytes) -> None:
    with pytest.raises(ProtocolViolation, match="not valid JSON"):
        answer(body).json()


def test_empty_answer_is_no_data() -> None:
    assert answer(b"  \n").json() == {}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="plugit")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_access_log_is_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def access_log(argv: list[str]) -> bool:
        return configuration_from_args(parse(argv)).server.access_log

    monkeypatch.delenv("PLUGIT_ACCESS_LOG", raising=False)
    assert access_log(["proxy"]) is False
    assert access_log(["proxy", "--access-log"]) is True
    monkeypatch.setenv("PLUGIT_ACCESS_LOG", "yes")
    assert access_log(["proxy"]) is True
