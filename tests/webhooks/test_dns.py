"""Webhook host names are looked up without holding a database connection, in their own few
threads, each for at most ORDERATLAS_DNS_TIMEOUT_S; what they resolve to is never echoed.

The system resolver is the outside world here: it is replaced by one that answers from a table
and, for *.slow.test, never answers (a nameserver that drops the query)."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orderatlas.config import Settings
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import place
from tests.receiver import running_receiver

pytestmark = pytest.mark.asyncio

NAMES = {"inside.test": "10.1.2.3", "xn--bcher-kva.test": "127.0.0.1"}


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[threading.Event]:
    """The resolver; set the event to let the stuck lookups return."""
    real = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.endswith(".slow.test"):
            release.wait(timeout=30)
            raise socket.gaierror(socket.EAI_AGAIN, "no answer")
        if name in NAMES:
            return real(NAMES[name], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    settings.webhook_resolve_dns = True
    settings.dns_timeout_s = 0.5
    yield release
    release.set()


async def test_slow_lookups_hold_no_connection_and_no_shared_thread(
    client: httpx.AsyncClient, accounts: AccountFactory, resolver: threading.Event
) -> None:
    busy, other = await accounts.create(), await accounts.create()
    keys = (await client.get("/v1/api-keys", headers=busy.live_headers)).json()["api_keys"]
    key_id = next(k["id"] for k in keys if k["mode"] == "live")
    patches = [
        asyncio.create_task(
            client.patch(
                f"/v1/api-keys/{key_id}",
                json={"webhook_url": f"https://h{i}.slow.test/hook"},
                headers=busy.live_headers,
            )
        )
        for i in range(30)  # more than the pool's 10 + 10 connections
    ]
    await asyncio.sleep(0)  # the PATCHes start (and, before the fix, take every connection)
    async with asyncio.timeout(10):  # before the fix: the pool timeout, 30 s, then a failure
        answer = await client.get("/v1/settings", headers=other.live_headers)
        assert answer.status_code == 200
        # asyncio's default threads (psycopg and redis resolve their hosts there) are still free
        assert await asyncio.get_running_loop().run_in_executor(None, lambda: 42) == 42
    answers = await asyncio.gather(*patches)
    # A host that does not answer in time is accepted, as one that does not resolve yet: sends re-check.
    assert {a.status_code for a in answers} == {200}, answers[0].text


async def test_an_unsafe_address_is_refused_without_saying_which(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings, resolver: threading.Event
) -> None:
    settings.webhook_allow_private_networks = False
    seller = await accounts.create()
    answer = await client.put(
        "/v1/settings", json={"webhook_url": "https://inside.test/hook"}, headers=seller.live_headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "unsafe_webhook_url"
    assert "10.1.2.3" not in answer.text and "non-public" in answer.json()["error"]


async def test_an_internationalized_host_is_stored_encoded_and_delivered(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory, resolver: threading.Event
) -> None:
    seller = await accounts.create()
    with running_receiver() as receiver:
        port = receiver.url.split(":")[-1].split("/")[0]
        answer = await client.put(
            "/v1/settings",
            json={"webhook_url": f"http://bücher.test:{port}/hook"},
            headers=seller.test_headers,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["webhook_url"] == f"http://xn--bcher-kva.test:{port}/hook"
        await place(client, seller, legacy_order())
        await worker.run()
        first = receiver.wait_for(1)[0]
    assert first.headers["host"] == f"xn--bcher-kva.test:{port}"
    # Pinned connections are not kept alive: the pool knows them by address, not by host name.
    assert first.headers["connection"] == "close"
