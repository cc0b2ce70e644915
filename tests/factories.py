"""Test data: accounts with keys, and order request bodies in both reference shapes."""

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.accounts.service import create_account
from orderatlas.db import unit_of_work
from orderatlas.models import Order, OrderItem

SHIPPING_ADDRESS = {
    "name": "John Doe",
    "phone": "5125551234",
    "line1": "123 Main St",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
}


@dataclass(frozen=True)
class SellerAccount:
    account_id: str
    email: str
    live_key: str
    test_key: str

    @property
    def test_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.test_key}

    @property
    def live_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.live_key}


class AccountFactory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._count = 0

    async def create(
        self,
        *,
        test_credits: int = 100,
        live_credits: int = 0,
        email: str | None = None,
        rate_limit: int = 0,
    ) -> SellerAccount:
        """Both balances are set explicitly: test keys spend test_credits, live keys live_credits.
        Unlimited unless asked (rate_limit): most tests send more than 60 requests a minute."""
        self._count += 1
        email = email or f"seller{self._count}@example.com"
        async with unit_of_work(self._sessionmaker, None) as session:
            new = await create_account(
                session, email, credits=live_credits, test_credits=test_credits, rate_limit=rate_limit
            )
        return SellerAccount(str(new.account.id), email, new.live_key.plaintext, new.test_key.plaintext)


async def insert_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    seller: SellerAccount,
    *,
    test_mode: bool = True,
    items: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Order:
    """An order row as a finished checkout leaves it, written directly: list and search tests need
    exact titles, ids, statuses and times, not a checkout."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "account_id": uuid.UUID(seller.account_id),
        "test_mode": test_mode,
        "retailer": "sandbox",
        "platform": "AmazonUS",
        "status": "confirmed",
        "platform_order_id": "",
        "multi_item": bool(items),
        "asin": "B09V3KXJPB",
        "quantity": 1,
        "product_title": "Sandbox Product B09V3KXJPB",
        "account_email": "buyer@example.com",
        "shipping_address": copy.deepcopy(SHIPPING_ADDRESS),
        "notes": [],
        "credits_charged": 2,
        "logged_in": True,
        "checkout_attempts": 1,
    }
    values.update(fields)
    order = Order(**values)
    order.items = [
        OrderItem(position=n, **item) for n, item in enumerate(items or [{"asin": order.asin, "quantity": 1}])
    ]
    async with unit_of_work(sessionmaker, None) as session:
        session.add(order)
    return order


def legacy_order(**overrides: Any) -> dict[str, Any]:
    """The reference's legacy single-item example."""
    body: dict[str, Any] = {
        "platform": "AmazonUS",
        "product_id": "B09V3KXJPB",
        "quantity": 1,
        "price_max": 50.00,
        "account_email": "buyer@example.com",
        "account_password": "hunter2",
        "shipping_address": copy.deepcopy(SHIPPING_ADDRESS),
    }
    body.update(overrides)
    return body


def multi_order(**overrides: Any) -> dict[str, Any]:
    """The reference's multi-item example."""
    body: dict[str, Any] = {
        "platform": "AmazonUS",
        "items": [
            {"asin": "B09V3KXJPB", "quantity": 1, "price_max": 50.00},
            {"asin": "B0CLWJ1423", "quantity": 2, "price_max": 80.00},
        ],
        "account_email": "buyer@example.com",
        "account_password": "hunter2",
        "shipping_address": copy.deepcopy(SHIPPING_ADDRESS),
    }
    body.update(overrides)
    return body


async def order_in(
    sessionmaker: async_sessionmaker[AsyncSession], seller: SellerAccount, status: str, **fields: Any
) -> str:
    """An order in any status, with a 3-7-7 platform_order_id: where status-machine tests start."""
    order_id = uuid.uuid4()
    fields.setdefault(
        "platform_order_id", f"111-{order_id.int % 10**7:07d}-{order_id.int // 10**7 % 10**7:07d}"
    )
    return str((await insert_order(sessionmaker, seller, id=order_id, status=status, **fields)).id)
