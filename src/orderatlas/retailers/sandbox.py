"""The sandbox retailer: a complete, deterministic retailer for test-mode keys.

Everything follows from the request (see docs/sandbox.md):
- any 10-character upper-case alphanumeric ASIN exists; NNNN as its last four digits prices it at
  NNNN/100, otherwise at 19.99; every product has four dearer offers from other sellers;
- a plus-tag on the buyer email picks the outcome: +<failure code> fails every attempt with that
  code, +<failure code>_once only the first, +purchased/+warning/+awaiting_approval/+payment_revision
  end in that status, +lost_response places the order but loses the answer (the adapter raises, as
  a real one would on a dropped connection), no tag ends confirmed;
- a proxy on port 1 is unreachable; the sandbox never touches the network;
- every purchase is written to its own order history (sandbox_purchases) the moment it is made;
- after checkout a placed order ships, goes out for delivery and is delivered on a fixed timeline
  (sandbox_timeline.py); +lost, +cancelled, +refunded and +no_tracking pick another ending, and
  +refresh_fails makes every status lookup fail;
- the history also holds, for imports, every 3-7-7 id that does not end in 0000000;
- a cookie string containing logged_out or challenged answers that; any other is logged in.
"""

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import SandboxPurchase
from orderatlas.models.base import utcnow
from orderatlas.retailers import sandbox_timeline as timeline
from orderatlas.retailers.base import (
    CHALLENGED,
    LOGGED_IN,
    LOGGED_OUT,
    ORDER_NOT_FOUND,
    RETAILER_UNAVAILABLE,
    Charges,
    CheckoutRequest,
    CheckoutResult,
    Credentials,
    Failure,
    HistoryLine,
    HistoryOrder,
    HistoryResult,
    LoginResult,
    OrderLookup,
    ProductResult,
    Proxy,
    Purchase,
    RetailerAdapter,
    Session,
    SessionCheck,
    Tracking,
    TrackingResult,
)
from orderatlas.retailers.marketplaces import MARKETPLACES
from orderatlas.retailers.sandbox_rules import (
    ASIN,
    HISTORY_ID,
    LOGIN_CODES,
    PRODUCT_CODES,
    UNREACHABLE_PROXY_PORT,
    Behaviour,
    behaviour_for,
    platform_order_id,
    refusal,
    sandbox_product,
    unit_price,
)

__all__ = [
    "Behaviour",
    "SandboxRetailer",
    "behaviour_for",
    "platform_order_id",
    "sandbox_product",
    "unit_price",
]


class SandboxRetailer(RetailerAdapter):
    name = "sandbox"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        latency_ms: int = 0,
        *,
        ship_after_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._latency_s = latency_ms / 1000
        self._ship_after_s = ship_after_s
        self._clock = clock

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
            return LoginResult(failure=refusal(behaviour.failure_code))
        token = hashlib.sha256(f"{credentials.email}:{credentials.password}:{fresh}".encode()).hexdigest()
        return LoginResult(session=Session(credentials.email, platform, fresh, token))

    async def get_product(self, session: Session, asin: str) -> ProductResult:
        await self._step()
        behaviour = behaviour_for(session.account_email)
        if behaviour.failure_code in PRODUCT_CODES:
            return ProductResult(failure=refusal(behaviour.failure_code, asin))
        if not ASIN.match(asin):
            return ProductResult(failure=Failure("ASIN_SWAPPED", f"sandbox: no product {asin}", asin))
        return ProductResult(product=sandbox_product(asin, session.platform))

    async def checkout(self, session: Session, request: CheckoutRequest) -> CheckoutResult:
        await self._step()
        behaviour = behaviour_for(session.account_email)
        if behaviour.fails(request.attempt) and behaviour.failure_code not in LOGIN_CODES | PRODUCT_CODES:
            assert behaviour.failure_code is not None
            return CheckoutResult(
                status="failed", failure=refusal(behaviour.failure_code, request.lines[0].asin)
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
                    created_at=self._clock(),  # the timeline after checkout starts here
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

    # After checkout: status lookups, the order history for imports, session checks.

    async def track(self, session: Session, order: OrderLookup) -> TrackingResult:
        await self._step()
        if behaviour_for(session.account_email).refresh_fails:
            return TrackingResult(
                failure=Failure(RETAILER_UNAVAILABLE, "sandbox: the order page did not load (+refresh_fails)")
            )
        row = await self._find(order)
        if row is None:
            return TrackingResult(
                failure=Failure(ORDER_NOT_FOUND, "sandbox: no such order in the order history")
            )
        return TrackingResult(tracking=self.observe(row))

    async def read_order(self, session: Session, platform: str, platform_order_id: str) -> HistoryResult:
        await self._step()
        row = await self._find(OrderLookup(platform, platform_order_id, ""))
        if row is None:
            if not HISTORY_ID.match(platform_order_id) or platform_order_id.endswith(
                timeline.NOT_IN_HISTORY_SUFFIX
            ):
                return HistoryResult()
            row = await self._remember(session.account_email, platform, platform_order_id)
        status = self.observe(row).status
        lines = tuple(
            HistoryLine(
                str(ln["asin"]), int(ln["quantity"]), Decimal(str(ln["unit_price"])), str(ln["seller"])
            )
            for ln in row.lines
        )
        zero = Decimal("0")
        return HistoryResult(
            HistoryOrder(
                platform_order_id=row.platform_order_id,
                status=status,
                product_title=f"Sandbox Product {lines[0].asin}",
                lines=lines,
                charges=Charges(row.subtotal, zero, zero, zero, row.subtotal),
                placed_at=row.created_at,
            )
        )

    async def validate_session(self, cookie_string: str, platform: str, proxy: Proxy | None) -> SessionCheck:
        await self._step()
        lowered = cookie_string.lower()
        if "logged_out" in lowered:
            return SessionCheck(LOGGED_OUT, "Session is logged out: log in again to get fresh cookies")
        if "challenged" in lowered:
            return SessionCheck(
                CHALLENGED, "Session is challenged: the retailer asks for a captcha or a code"
            )
        return SessionCheck(LOGGED_IN, "Session is active")

    # The sandbox's own side, also used by POST /v1/sandbox/orders/:id/advance.

    def next_step(self, account_email: str, current: str) -> str | None:
        return timeline.next_step(behaviour_for(account_email).ending, current)

    async def observe_order(self, order: OrderLookup, status: str | None = None) -> Tracking | None:
        """What the order page shows now, or as if the order had reached `status` already."""
        row = await self._find(order)
        return None if row is None else self.observe(row, status)

    def observe(self, row: SandboxPurchase, forced: str | None = None) -> Tracking:
        ending = behaviour_for(row.account_email).ending
        return timeline.observe(row, ending, self._clock(), self._ship_after_s, forced)

    async def _find(self, order: OrderLookup) -> SandboxPurchase | None:
        if order.order_reference:
            where = SandboxPurchase.order_reference == order.order_reference
        elif order.platform_order_id:
            where = SandboxPurchase.platform_order_id == order.platform_order_id
        else:
            return None
        async with self._sessionmaker() as db:
            return (
                await db.execute(
                    select(SandboxPurchase)
                    .where(where, SandboxPurchase.platform == order.platform)
                    .order_by(SandboxPurchase.created_at)
                    .limit(1)
                )
            ).scalar_one_or_none()

    async def _remember(self, account_email: str, platform: str, platform_order_id: str) -> SandboxPurchase:
        """A history entry for an order the buyer placed by hand: first read, it starts its timeline."""
        digits = platform_order_id.replace("-", "")
        asin = "B0" + digits[-8:]
        price = unit_price(asin)
        seller = MARKETPLACES[platform].domain.capitalize()
        row = SandboxPurchase(
            account_email=account_email,
            order_reference="",
            platform=platform,
            platform_order_id=platform_order_id,
            status="confirmed",
            lines=[{"asin": asin, "quantity": 1, "seller": seller, "unit_price": str(price)}],
            subtotal=price,
            created_at=self._clock(),
        )
        async with self._sessionmaker() as db, db.begin():
            db.add(row)
        return row
