"""Webhook sends have a queue and worker slots of their own: a receiver that never answers
holds up only sends, never a checkout."""

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
from arq import Worker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.config import Settings
from orderatlas.models import WebhookAttempt
from orderatlas.worker import CHECKOUTS, WEBHOOKS, worker_options
from tests.factories import AccountFactory, legacy_order
from tests.orders.test_checkout import order, place
from tests.webhooks.test_delivery import point_at


class BlackHole:
    """A real TCP server on 127.0.0.1 that accepts every connection, reads, and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.held.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@contextmanager
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()


async def until(condition: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}"
        await asyncio.sleep(0.02)


async def attempts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookAttempt)) or 0)


async def test_a_black_holed_receiver_does_not_delay_checkouts(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings.worker_max_jobs, settings.webhook_max_jobs = 2, 2
    settings.webhook_timeout_s = 30  # far longer than the checkouts take: a send cannot end first
    seller = await accounts.create(test_credits=100)
    with black_hole() as hole:
        await point_at(client, seller, hole.url)
        order_ids = [await place(client, seller, legacy_order()) for _ in range(6)]
        sends = Worker(**worker_options(settings, WEBHOOKS, handle_signals=False, poll_delay=0.01))
        sending = asyncio.create_task(sends.async_run())
        try:

            async def slots_held() -> bool:
                return len(hole.held) >= 2

            await until(slots_held, timeout_s=30, what="both send slots to hang on the black hole")
            checkouts = Worker(
                **worker_options(
                    settings, CHECKOUTS, burst=True, poll_delay=0.01, handle_signals=False, cron_jobs=[]
                )
            )
            try:
                await checkouts.main()
            finally:
                await checkouts.close()

            assert checkouts.jobs_complete == 6
            assert [(await order(client, seller, oid))["status"] for oid in order_ids] == ["confirmed"] * 6
            # Every send slot is still held, and no send has finished: the checkouts waited for none.
            assert len(hole.held) == 2
            assert await attempts(sessionmaker) == 0
        finally:
            sending.cancel()
            await sends.close()
