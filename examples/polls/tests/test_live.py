"""Live results: a page's socket `live/<poll id>` gets the counts, then each vote's new ones."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from test_polls import create_poll, vote
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from plugit import Service
from plugit.simulation import ADMIN, LOGGED
from plugit.testing import LiveServer, ServiceClient

WAIT = 20.0  # generous: a loaded machine


async def next_counts(socket: ClientConnection) -> dict[str, Any]:
    counts: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    return counts


def votes_of(counts: dict[str, Any]) -> list[tuple[int, int]]:
    return [(choice["votes"], choice["percent"]) for choice in counts["choices"]]


async def test_a_vote_reaches_every_open_page(service: Service) -> None:
    with LiveServer(service) as server, ServiceClient.at(server.url) as client:
        poll_id = await asyncio.to_thread(create_poll, client, "Tea or coffee?", "Tea", "Coffee")
        url = server.url.replace("http://", "ws://") + f"/action/live/{poll_id}"
        async with connect(url) as first, connect(url) as second:
            for socket in (first, second):
                counts = await next_counts(socket)
                assert counts["poll"] == poll_id
                assert counts["total"] == 0
                assert votes_of(counts) == [(0, 0), (0, 0)]
            await asyncio.to_thread(vote, client, poll_id, "Coffee", LOGGED)
            for socket in (first, second):
                counts = await next_counts(socket)
                assert counts["total"] == 1
                assert votes_of(counts) == [(0, 0), (1, 100)]
            await asyncio.to_thread(vote, client, poll_id, "Tea", ADMIN)
            assert votes_of(await next_counts(second)) == [(1, 50), (1, 50)]


async def test_a_page_that_left_is_forgotten(service: Service) -> None:
    with LiveServer(service) as server, ServiceClient.at(server.url) as client:
        poll_id = await asyncio.to_thread(create_poll, client, "Left?", "Yes", "No")
        url = server.url.replace("http://", "ws://") + f"/action/live/{poll_id}"
        async with connect(url) as socket:
            await next_counts(socket)
        # The vote after the page left is still counted, and a new page sees it.
        page = await asyncio.to_thread(vote, client, poll_id, "Yes", LOGGED)
        assert page.status_code == 302
        async with connect(url) as socket:
            assert votes_of(await next_counts(socket)) == [(1, 100), (0, 0)]


async def test_an_unknown_poll_closes_the_socket_with_4404(service: Service) -> None:
    with LiveServer(service) as server:
        url = server.url.replace("http://", "ws://") + "/action/live/999"
        async with connect(url) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), WAIT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404


def test_the_socket_is_public_in_its_meta(client: ServiceClient) -> None:
    meta = client.get("/live/1").meta
    assert meta is not None
    assert meta.get("public") is True
