"""The checkout algorithm, retailer-agnostic: log in, read products, guard prices, place, retry.

No database here: it takes a plan and the sealed secrets and returns an outcome as data.
The retry rules are the reference's: session-level flags get one retry on a forced-fresh login
(then ACCOUNT_SOFTBLOCK); SHIPPING_RESTRICTED rotates through the cheapest alternative offers
under price_max; every other code is terminal.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from orderatlas.kit.money import format_money
from orderatlas.orders import statuses as st
from orderatlas.retailers.base import (
    PLACED_STATUSES,
    Charges,
    CheckoutLine,
    CheckoutRequest,
    CheckoutResult,
    Credentials,
    Failure,
    Offer,
    PaymentCard,
    Product,
    Proxy,
    RetailerAdapter,
    Session,
)
from orderatlas.retailers.marketplaces import MARKETPLACES


@dataclass(frozen=True)
class PlanLine:
    asin: str
    quantity: int
    cap: Decimal | None  # None: no price guard on this line
    cap_is_subtotal: bool  # legacy shape: price_max caps unit price x quantity

    def allows(self, unit_price: Decimal) -> bool:
        if self.cap is None:
            return True
        return (unit_price * self.quantity if self.cap_is_subtotal else unit_price) <= self.cap


@dataclass(frozen=True)
class CheckoutPlan:
    order_reference: str
    platform: str
    account_email: str
    lines: tuple[PlanLine, ...]
    shipping_address: Mapping[str, str]
    gift_from: str | None = None
    gift_message: str | None = None
    auto_subscribe_save: bool = False


@dataclass(frozen=True)
class Secrets:
    credentials: Credentials
    proxy: Proxy | None = None
    card: PaymentCard | None = None


@dataclass
class LineResult:
    asin: str
    unit_price: Decimal | None = None
    seller: str | None = None
    outcome: str = ""


@dataclass
class CheckoutOutcome:
    status: str
    logged_in: bool
    lines: list[LineResult]
    failure: Failure | None = None
    platform_order_id: str = ""
    charges: Charges | None = None
    product_title: str = ""
    notes: list[str] = field(default_factory=list)
    attempts: int = 0
    subscription_canceled: bool = False
    # The session the order was placed with: kept (sealed) for the status refresh.
    session: Session | None = None


class _Run:
    """One checkout of one order: holds the session, chosen offers and notes as it goes."""

    def __init__(self, adapter: RetailerAdapter, plan: CheckoutPlan, secrets: Secrets) -> None:
        self.adapter = adapter
        self.plan = plan
        self.secrets = secrets
        self.market = MARKETPLACES[plan.platform]
        self.logged_in = False
        self.attempts = 0
        self.notes: list[str] = []
        self.lines = [LineResult(line.asin) for line in plan.lines]
        self.products: dict[str, Product] = {}
        self.offers: list[Offer] = []
        self.session: Session | None = None

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.market.currency, self.market.locale)

    def outcome(
        self, status: str, failure: Failure | None = None, result: CheckoutResult | None = None
    ) -> CheckoutOutcome:
        if failure is not None:
            self.notes.append(failure.message)
        first = self.products.get(self.plan.lines[0].asin)
        return CheckoutOutcome(
            status=status,
            logged_in=self.logged_in,
            lines=self.lines,
            failure=failure,
            platform_order_id=result.platform_order_id if result else "",
            charges=result.charges if result else None,
            product_title=first.title if first else "",
            notes=self.notes,
            attempts=self.attempts,
            subscription_canceled=result.subscription_canceled if result else False,
            session=self.session if status in PLACED_STATUSES else None,
        )

    def failed(self, failure: Failure) -> CheckoutOutcome:
        status = st.PRICE_EXCEEDED if failure.code == st.PRICE_EXCEEDED else st.FAILED
        return self.outcome(status, failure)

    async def run(self) -> CheckoutOutcome:
        fresh = False
        while True:
            session, failure = await self.prepare(fresh)
            if failure is not None:
                return self.failed(failure)
            assert session is not None
            result = await self.place(session)
            if result.status in PLACED_STATUSES:
                return self.placed(result)
            assert result.failure is not None
            code = result.failure.code
            if code in st.FRESH_SESSION_RETRY_CODES and not fresh:
                self.notes.append(f"{result.failure.message}; retrying once on a fresh login")
                fresh = True
                continue
            if code in st.FRESH_SESSION_RETRY_CODES:
                self.notes.append(result.failure.message)
                return self.failed(
                    Failure(
                        st.SOFTBLOCK,
                        f"the fresh-session retry was flagged too ({code}): account soft-blocked",
                    )
                )
            if code == st.SHIPPING_RESTRICTED:
                return await self.rotate(session, result.failure)
            return self.failed(result.failure)

    async def prepare(self, fresh: bool) -> tuple[Session | None, Failure | None]:
        """Log in, read every product, pick the buy box offers and apply the price guard."""
        login = await self.adapter.login(
            self.secrets.credentials, self.plan.platform, self.secrets.proxy, fresh=fresh
        )
        if login.failure is not None or login.session is None:
            return None, login.failure or Failure("LOGIN_FAILED", "login failed")
        self.logged_in = True
        self.session = login.session
        self.offers = []
        for line, result in zip(self.plan.lines, self.lines, strict=True):
            found = await self.adapter.get_product(login.session, line.asin)
            if found.failure is not None or found.product is None:
                failure = found.failure or Failure(
                    "ASIN_SWAPPED", f"product {line.asin} not found", line.asin
                )
                result.outcome = st.LINE_ASIN_SWAPPED if failure.code == "ASIN_SWAPPED" else st.LINE_NO_OFFER
                return None, failure
            self.products[line.asin] = found.product
            self.offers.append(found.product.buybox)
            result.unit_price, result.seller = found.product.buybox.price, found.product.buybox.seller
        return login.session, self.price_guard()

    def price_guard(self) -> Failure | None:
        over = []
        for line, offer, result in zip(self.plan.lines, self.offers, self.lines, strict=True):
            if not line.allows(offer.price):
                result.outcome = st.LINE_PRICE_EXCEEDED
                price = offer.price * line.quantity if line.cap_is_subtotal else offer.price
                over.append(f"{line.asin} at {self.money(price)} over price_max {self.money(line.cap or 0)}")
        if not over:
            return None
        return Failure(st.PRICE_EXCEEDED, "price exceeds price_max, order not placed: " + "; ".join(over))

    async def place(self, session: Session) -> CheckoutResult:
        self.attempts += 1
        request = CheckoutRequest(
            order_reference=self.plan.order_reference,
            platform=self.plan.platform,
            lines=tuple(
                CheckoutLine(line.asin, line.quantity, offer)
                for line, offer in zip(self.plan.lines, self.offers, strict=True)
            ),
            shipping_address=self.plan.shipping_address,
            attempt=self.attempts,
            gift_from=self.plan.gift_from,
            gift_message=self.plan.gift_message,
            auto_subscribe_save=self.plan.auto_subscribe_save,
            card=self.secrets.card,
        )
        return await self.adapter.checkout(session, request)

    def placed(self, result: CheckoutResult) -> CheckoutOutcome:
        for offer, line in zip(self.offers, self.lines, strict=True):
            line.unit_price, line.seller, line.outcome = offer.price, offer.seller, st.LINE_PLACED
        return self.outcome(result.status, result=result)

    async def rotate(self, session: Session, failure: Failure) -> CheckoutOutcome:
        """SHIPPING_RESTRICTED: try up to three cheaper-first alternatives at or under the cap."""
        index = next((i for i, line in enumerate(self.plan.lines) if line.asin == failure.asin), 0)
        line, failed_offer = self.plan.lines[index], self.offers[index]
        if line.cap is None:
            return self.failed(
                replace(failure, message=f"{failure.message} (no price_max, so no offer rotation)")
            )
        candidates = sorted(
            (
                o
                for o in self.products[line.asin].offers
                if o.offer_id != failed_offer.offer_id and line.allows(o.price)
            ),
            key=lambda o: o.price,
        )[: st.ROTATION_OFFERS]
        if not candidates:
            return self.failed(
                replace(failure, message=f"{failure.message} (no alternative offer within price_max)")
            )
        self.notes.append(f"{failure.message}; rotating through {len(candidates)} alternative offer(s)")
        for offer in candidates:
            self.offers[index] = offer
            result = await self.place(session)
            if result.status in PLACED_STATUSES:
                self.notes.append(
                    f"placed with alternative offer: seller {offer.seller}, price {self.money(offer.price)}, "
                    f"fulfilled by {offer.fulfillment}"
                )
                return self.placed(result)
            assert result.failure is not None
            if result.failure.code != st.SHIPPING_RESTRICTED:
                return self.failed(result.failure)
            failure = result.failure
        return self.failed(replace(failure, message=f"{failure.message} (all alternative offers failed too)"))


async def run_checkout(adapter: RetailerAdapter, plan: CheckoutPlan, secrets: Secrets) -> CheckoutOutcome:
    return await _Run(adapter, plan, secrets).run()


async def reconcile(adapter: RetailerAdapter, plan: CheckoutPlan, secrets: Secrets | None) -> CheckoutOutcome:
    """A previous attempt died mid-checkout: never buy blindly again, ask the retailer's history."""
    lines = [LineResult(line.asin) for line in plan.lines]
    credentials = secrets.credentials if secrets else None
    purchase = await adapter.find_purchase(credentials, plan.platform, plan.order_reference)
    if purchase is None:
        failure = Failure(
            "GATEWAY_RESTART_INTERRUPTED",
            "checkout was interrupted (worker restart or retailer error) and the retailer has no such "
            "order; credits refunded",
        )
        return CheckoutOutcome(
            st.FAILED, logged_in=False, lines=lines, failure=failure, notes=[failure.message]
        )
    for line in lines:
        line.outcome = st.LINE_PLACED
    # A history that shows the order further along (shipped ...) still means placed: the checkout
    # ends placed, and the status refresh takes it on from there.
    status = purchase.status if purchase.status in PLACED_STATUSES else st.CONFIRMED
    return CheckoutOutcome(
        status,
        logged_in=True,
        lines=lines,
        platform_order_id="" if purchase.status == "warning" else purchase.platform_order_id,
        charges=purchase.charges,
        notes=[
            "checkout was interrupted (worker restart or retailer error); "
            "the retailer's order history shows it placed"
        ],
    )
