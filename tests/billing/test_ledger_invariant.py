"""The ledger property: after any mix of money movements, each mode's ledger sums to its balance,
no balance is negative, and no row ever changes or disappears (append-only).

A seeded random walk over the real routes, the real worker and the signed Stripe webhook.
"""

import random
import uuid
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.db import unit_of_work
from orderatlas.errors import BadRequest, InsufficientCredits
from orderatlas.models import Account, CreditTransaction
from orderatlas.models.credit import IMPORT_DEBIT
from tests.billing.stripe_helpers import (
    LIVE_SECRET,
    TEST_SECRET,
    completed,
    configure_stripe,
    deliver,
    mock_sessions,
    open_topup,
    refunded,
)
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, SellerAccount, legacy_order

pytestmark = pytest.mark.asyncio

STEPS = 40
FAILING_BUYER = "buyer+checkout_blocked@example.com"


class Walk:
    def __init__(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker: WorkerRunner,
        seller: SellerAccount,
        rng: random.Random,
    ) -> None:
        self.client, self.sessionmaker, self.worker, self.seller, self.rng = (
            client,
            sessionmaker,
            worker,
            seller,
            rng,
        )
        self.account_id = uuid.UUID(seller.account_id)
        self.paid: list[tuple[dict[str, Any], bool]] = []  # (session, test mode)
        self.sent: list[tuple[dict[str, Any], str]] = []  # every event delivered, for replays
        self.seen: dict[uuid.UUID, tuple[int, str, bool, int]] = {}
        self.movements = 0

    def headers(self, test: bool) -> dict[str, str]:
        return self.seller.test_headers if test else self.seller.live_headers

    async def order(self, test: bool) -> None:
        body = legacy_order(account_email=FAILING_BUYER) if self.rng.random() < 0.4 else legacy_order()
        response = await self.client.post("/v1/order", json=body, headers=self.headers(test))
        assert response.status_code in (200, 402), response.text
        if self.rng.random() < 0.5:
            await self.worker.run()  # failures are refunded by the real checkout

    async def topup(self, test: bool) -> None:
        with respx.mock() as stripe:
            session = await open_topup(
                self.client,
                self.seller,
                mock_sessions(stripe),
                test=test,
                credits=self.rng.choice([10, 25, 100]),
            )
        await self.send(completed(session), TEST_SECRET if test else LIVE_SECRET)
        self.paid.append((session, test))

    async def refund(self, _: bool) -> None:
        if not self.paid:
            return
        session, test = self.rng.choice(self.paid)
        share = self.rng.choice([0.25, 0.5, 1.0])
        await self.send(
            refunded(session, int(session["amount_total"] * share)), TEST_SECRET if test else LIVE_SECRET
        )

    async def replay(self, _: bool) -> None:
        if self.sent:
            body, secret = self.rng.choice(self.sent)
            assert (await deliver(self.client, body, secret)).json()["duplicate"] is True

    async def send(self, body: dict[str, Any], secret: str) -> None:
        response = await deliver(self.client, body, secret)
        assert response.status_code == 200, response.text
        self.sent.append((body, secret))

    async def adjust(self, test: bool) -> None:
        try:
            async with unit_of_work(self.sessionmaker, None) as session:
                amount = self.rng.choice([-50, -5, 3, 40])
                await billing.adjust(session, self.account_id, amount, "walk", test_mode=test)
        except BadRequest as exc:
            assert exc.code == "balance_too_low"

    async def import_order(self, test: bool) -> None:
        try:
            async with unit_of_work(self.sessionmaker, None) as session:
                await billing.charge(
                    session, self.account_id, 1, IMPORT_DEBIT, "Order import", test_mode=test
                )
        except InsufficientCredits:
            pass

    async def check(self) -> None:
        async with self.sessionmaker() as session:
            account = await session.get(Account, self.account_id)
            assert account is not None
            rows = (await session.execute(select(CreditTransaction))).scalars().all()
            for test, balance in ((True, account.test_credit_balance), (False, account.credit_balance)):
                assert balance >= 0
                assert balance == sum(r.amount for r in rows if r.test_mode == test)
                assert account.credits_owed >= 0 and account.test_credits_owed >= 0
            now = {r.id: (r.amount, r.type, r.test_mode, r.seq) for r in rows}
        assert all(now.get(row_id) == row for row_id, row in self.seen.items()), "a ledger row changed"
        self.movements += len(now) - len(self.seen)
        self.seen = now


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_ledger_sums_to_the_balance_after_any_mix_of_movements(
    client: httpx.AsyncClient,
    worker: WorkerRunner,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    seed: int,
) -> None:
    configure_stripe(settings)
    settings.retailer = "sandbox"  # live orders too
    rng = random.Random(seed)
    walk = Walk(client, sessionmaker, worker, await accounts.create(test_credits=20, live_credits=10), rng)
    moves = [walk.order, walk.order, walk.topup, walk.refund, walk.replay, walk.adjust, walk.import_order]
    for _ in range(STEPS):
        await rng.choice(moves)(rng.random() < 0.6)
        await walk.check()
    await worker.run()
    await walk.check()
    async with sessionmaker() as session:
        kinds = set(await session.scalars(select(CreditTransaction.type).distinct()))
        total = await session.scalar(select(func.count()).select_from(CreditTransaction))
    assert {"order_debit", "order_refund", "deposit", "adjustment", "import_debit"} <= kinds  # it moved money
    assert walk.movements == total
