"""The sandbox retailer: a complete, deterministic retailer for test-mode keys.

Everything follows from the request (see docs/sandbox.md):
- any 10-character upper-case alphanumeric ASIN exists; NNNN as its last four digits prices it at
  NNNN/100, otherwise at 19.99; every product has four dearer offers from other sellers;
- a plus-tag on the buyer email picks the outcome: +<failure code> fails every attempt with that
  code, +<failure code>_once only the first, +purchased/+warning/+awaiting_approval/+payment_revision
  end in that status, +lost_response places the order but loses the answer (the adapter raises, as
  a real one would on a dropped connection), no tag ends confirmed;
- a proxy on port 1 is unreachable; the sandbox never touches the network;
- every purchase is written to its own order history (sandbox_purchases) the moment it is made.
"""

import asyncio
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import SandboxPurchase
from orderatlas.orders.statuses import FAILURE_CODES
from orderatlas.retailers.base import (
    Charges,
    CheckoutRequest,
    CheckoutResult,
    Credentials,
    Failure,
    LoginResult,
    Offer,
    Product,
    ProductResult,
    Proxy,
    Purchase,
    RetailerAdapter,
    Session,
)
from orderatlas.retailers.marketplaces import MARKETPLACES

DEFAULT_PRICE = Decimal("19.99")
UNREACHABLE_PROXY_PORT = 1
TAGGED_STATUSES = frozenset({"purchased", "warning", "awaiting_approval", "payment_revision"})
LOST_RESPONSE = "lost_response"
ASIN = re.compile(r"^[A-Z0-9]{10}$")

# Which step each failure code fires at; every other code fires at place-order.
LOGIN_CODES = frozenset({"LOGIN_FAILED"})
PRODUCT_CODES = frozenset({"DIGITAL_PRODUCT_UNSUPPORTED", "ASIN_SWAPPED"})

# (seller, markup over the buy box, fulfilment): the alternatives the offer rotation can pick from.
ALTERNATIVE_SELLERS = (
    ("Sandbox Outlet", Decimal("0.50"), "Amazon"),
    ("Harbor Goods", Decimal("1.25"), "Merchant"),
    ("Northwind Retail", Decimal("2.00"), "Merchant"),
    ("Blue Fern Supply", Decimal("3.50"), "Amazon"),
)


@dataclass(frozen=True)
class Behaviour:
    """What the buyer email's plus-tag asks of the sandbox."""

    failure_code: str | None = None
    only_first_attempt: bool = False
    status: str = "confirmed"
    lose_response: bool = False

    def fails(self, attempt: int) -> bool:
        return self.failure_code is not None and (attempt == 1 or not self.only_first_attempt)


def behaviour_for(email: str) -> Behaviour:
    local = email.split("@", 1)[0]
    if "+" not in local:
        return Behaviour()
    tag = local.split("+", 1)[1].lower()
    if tag in TAGGED_STATUSES:
        return Behaviour(status=tag)
    if tag == LOST_RESPONSE:
        return Behaviour(lose_response=True)
    once = tag.endswith("_once")
    code = (tag[: -len("_once")] if once else tag).upper()
    if code in FAILURE_CODES:
        return Behaviour(failure_code=code, only_first_attempt=once)
    return Behaviour()


def unit_price(asin: str) -> Decimal:
    tail = asin[-4:]
    return Decimal(tail) / 100 if tail.isdigit() else DEFAULT_PRICE


def sandbox_product(asin: str, platform: str = "AmazonUS") -> Product:
    """The buy box belongs to the marketplace itself ("Amazon.com", "Amazon.co.uk" ...)."""
    price = unit_price(asin)
    offers = [Offer(f"{asin}-0", MARKETPLACES[platform].domain.capitalize(), price, "Amazon")]
    for n, (seller, markup, fulfillment) in enumerate(ALTERNATIVE_SELLERS, start=1):
        offers.append(Offer(f"{asin}-{n}", seller, price + markup, fulfillment))
    return Product(asin=asin, title=f"Sandbox Product {asin}", offers=tuple(offers))


def platform_order_id(reference: str, attempt: int) -> str:
    """A stable 3-7-7 order id such as 112-4567890-1234567."""
    digits = str(int(hashlib.sha256(f"{reference}:{attempt}".encode()).hexdigest(), 16))
    return f"1{digits[0:2]}-{digits[2:9]}-{digits[9:16]}"


def _failure(code: str, asin: str | None = None) -> Failure:
    return Failure(code, f"sandbox: the retailer refused this order ({code})", asin)


class SandboxRetailer(RetailerAdapter):
    name = "sandbox"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], latency_ms: int = 0) -> None:
        self._sessionmaker = sessionmaker
        self._latency_s = latency_ms / 1000

    async def _step(self) -> None:
        if self._latency_s:
            await asyncio.sleep(self._latency_s)

    async def check_proxy(self, proxy: Proxy, timeout_s: float) -> Failure | None:
        if proxy.port == UNREACHABLE_PROXY_PORT:
            return Failure(
                "proxy_unreachable",
                f"proxy {proxy.address} unreachable: connection refused (sandbox: port 1 is never reachable)",
            )
        return None

    async def login(
        self, credentials: Credentials, platform: str, proxy: Proxy | None, *, fresh: bool
    ) -> LoginResult:
        await self._step()
        behaviour = behaviour_for(credentials.email)
        if behaviour.failure_code in LOGIN_CODES:
            return LoginResult(failure=_failure(behaviour.failure_code))
        token = hashlib.sha256(f"{credentials.email}:{fresh}".encode()).hexdigest()
        return LoginResult(session=Session(credentials.email, platform, fresh, token))

    async def get_product(self, session: Session, asin: str) -> ProductResult:
        await self._step()
        behaviour = behaviour_for(session.account_email)
        if behaviour.failure_code in PRODUCT_CODES:
            return ProductResult(failure=_failure(behaviour.failure_code, asin))
        if not ASIN.match(asin):
            return ProductResult(failure=Failure("ASIN_SWAPPED", f"sandbox: no product {asin}", asin))
        return ProductResult(product=sandbox_product(asin, session.platform))

    async def checkout(self, session: Session, request: CheckoutRequest) -> CheckoutResult:
        await self._step()
        behaviour = behaviour_for(session.account_email)
        if behaviour.fails(request.attempt) and behaviour.failure_code not in LOGIN_CODES | PRODUCT_CODES:
            assert behaviour.failure_code is not None
            return CheckoutResult(
                status="failed", failure=_failure(behaviour.failure_code, request.lines[0].asin)
            )
        subtotal = sum((line.offer.price * line.quantity for line in request.lines), Decimal("0"))
        charges = Charges(subtotal, Decimal("0"), Decimal("0"), Decimal("0"), subtotal)
        order_id = platform_order_id(request.order_reference, request.attempt)
        await self._record(session, request, behaviour.status, order_id, subtotal)
        if behaviour.lose_response:
            raise ConnectionResetError(
                "sandbox: the order was placed but the response was lost (+lost_response)"
            )
        return CheckoutResult(
            status=behaviour.status,
            # "warning": placed, but the order id could not be read back.
            platform_order_id="" if behaviour.status == "warning" else order_id,
            charges=charges,
            subscription_canceled=request.auto_subscribe_save,
        )

    async def _record(
        self, session: Session, request: CheckoutRequest, status: str, order_id: str, subtotal: Decimal
    ) -> None:
        """The retailer's side of the purchase, committed at once, whatever happens to the caller."""
        lines = [
            {
                "asin": line.asin,
                "quantity": line.quantity,
                "seller": line.offer.seller,
                "unit_price": str(line.offer.price),
            }
            for line in request.lines
        ]
        async with self._sessionmaker() as db, db.begin():
            db.add(
                SandboxPurchase(
                    account_email=session.account_email,
                    order_reference=request.order_reference,
                    platform=request.platform,
                    platform_order_id=order_id,
                    status=status,
                    lines=lines,
                    subtotal=subtotal,
                )
            )

    async def find_purchase(
        self, credentials: Credentials | None, platform: str, order_reference: str
    ) -> Purchase | None:
        await self._step()
        async with self._sessionmaker() as db:
            row = (
                await db.execute(
                    select(SandboxPurchase)
                    .where(SandboxPurchase.order_reference == order_reference)
                    .order_by(SandboxPurchase.created_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if row is None:
            return None
        zero = Decimal("0")
        return Purchase(
            order_reference=row.order_reference,
            platform_order_id=row.platform_order_id,
            status=row.status,
            charges=Charges(row.subtotal, zero, zero, zero, row.subtotal),
            placed_at=row.created_at,
        )
