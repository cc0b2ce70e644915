"""The retailer adapter interface.

An adapter logs in, reads products and their offers, checks out, and looks up the retailer's
own order history. After the checkout it looks up an order's live status and tracking, reads
one order from the history (for imports), and says whether a cookie session is still logged in.
Outcomes are data (a Failure carrying a failure_reason_code), not exceptions: an exception from
an adapter means "we do not know what happened", and the checkout treats it as a possible
purchase to reconcile, never as a clean failure.
"""

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

# Statuses a checkout can end in when the retailer accepted the order.
from orderatlas.orders.statuses import PLACED_STATUSES as PLACED_STATUSES
from orderatlas.webhooks import targets

# Failure codes of the lookups after checkout (track, read_order).
ORDER_NOT_FOUND = "ORDER_NOT_FOUND_ON_PLATFORM"
RETAILER_UNAVAILABLE = "RETAILER_UNAVAILABLE"
SESSION_EXPIRED = "SESSION_EXPIRED"
# What validate_session answers.
LOGGED_IN, LOGGED_OUT, CHALLENGED = "LOGGED_IN", "LOGGED_OUT", "CHALLENGED"


UNSAFE_PROXY = "unsafe_proxy"  # a proxy refused by the address rules (400, not an order failure)


@dataclass(frozen=True)
class Failure:
    code: str  # a failure_reason_code from the reference
    message: str  # the human reason, appended to the order's notes
    asin: str | None = None  # the line it concerns, when it concerns one


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, text: str) -> "Proxy":
        """ip:port or ip:port:user:pass, as the reference spells it."""
        parts = text.strip().split(":")
        if len(parts) not in (2, 4) or not parts[0]:
            raise ValueError("proxy must be ip:port or ip:port:user:pass")
        try:
            port = int(parts[1])
        except ValueError:
            raise ValueError("proxy port must be a number") from None
        if not 1 <= port <= 65535:
            raise ValueError("proxy port must be between 1 and 65535")
        if len(parts) == 4:
            return cls(parts[0], port, parts[2], parts[3])
        return cls(parts[0], port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PaymentCard:
    number: str = field(repr=False)
    holder_name: str = field(repr=False)
    exp_month: str = field(repr=False)
    exp_year: str = field(repr=False)
    cvv: str | None = field(default=None, repr=False)
    billing_address: Mapping[str, str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Session:
    """An authenticated retailer session; opaque to everything but its adapter."""

    account_email: str
    platform: str
    fresh: bool
    token: str = field(repr=False)


@dataclass(frozen=True)
class LoginResult:
    session: Session | None = None
    failure: Failure | None = None


@dataclass(frozen=True)
class Offer:
    offer_id: str
    seller: str
    price: Decimal  # per unit
    fulfillment: str  # "Amazon" (FBA) or "Merchant" (FBM)


@dataclass(frozen=True)
class Product:
    asin: str
    title: str
    offers: tuple[Offer, ...]  # offers[0] holds the buy box

    @property
    def buybox(self) -> Offer:
        return self.offers[0]


@dataclass(frozen=True)
class ProductResult:
    product: Product | None = None
    failure: Failure | None = None


@dataclass(frozen=True)
class CheckoutLine:
    asin: str
    quantity: int
    offer: Offer


@dataclass(frozen=True)
class CheckoutRequest:
    order_reference: str  # our order id; the retailer keeps it with the purchase
    platform: str
    lines: tuple[CheckoutLine, ...]
    shipping_address: Mapping[str, str]
    attempt: int  # 1-based placement attempt for this order
    gift_from: str | None = None
    gift_message: str | None = None
    auto_subscribe_save: bool = False
    card: PaymentCard | None = None


@dataclass(frozen=True)
class Charges:
    subtotal: Decimal
    shipping: Decimal
    credit: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class CheckoutResult:
    status: str  # one of PLACED_STATUSES, or "failed"
    platform_order_id: str = ""
    charges: Charges | None = None
    failure: Failure | None = None
    subscription_canceled: bool = False


@dataclass(frozen=True)
class Purchase:
    """One entry of the retailer's order history."""

    order_reference: str
    platform_order_id: str
    status: str
    charges: Charges
    placed_at: datetime


@dataclass(frozen=True)
class OrderLookup:
    """Which order to look up: by the retailer's id, or by our reference when it has none (warning)."""

    platform: str
    platform_order_id: str
    order_reference: str  # our order id as the checkout sent it; "" for an imported order


@dataclass(frozen=True)
class Tracking:
    """What the retailer's order page says now."""

    status: str  # an order status: confirmed ... shipped, out_for_delivery, delivered, cancelled ...
    tracking_number: str = ""
    carrier: str = ""
    est_delivery_min: datetime | None = None
    est_delivery_max: datetime | None = None
    invoice_html: str | None = None  # the order's printable summary, once the retailer has one
    order_html: str | None = None  # the order's tracking page
    next_change_at: datetime | None = None  # when the retailer expects the next step, if it knows


@dataclass(frozen=True)
class TrackingResult:
    tracking: Tracking | None = None
    failure: Failure | None = None  # ORDER_NOT_FOUND, SESSION_EXPIRED, RETAILER_UNAVAILABLE ...


@dataclass(frozen=True)
class HistoryLine:
    asin: str
    quantity: int
    unit_price: Decimal
    seller: str


@dataclass(frozen=True)
class HistoryOrder:
    """One order as the retailer's order history shows it."""

    platform_order_id: str
    status: str
    product_title: str
    lines: tuple[HistoryLine, ...]
    charges: Charges
    placed_at: datetime


@dataclass(frozen=True)
class HistoryResult:
    order: HistoryOrder | None = None  # None and no failure: the history has no such order
    failure: Failure | None = None


@dataclass(frozen=True)
class SessionCheck:
    status: str  # LOGGED_IN, LOGGED_OUT or CHALLENGED
    message: str


class RetailerAdapter(ABC):
    name: ClassVar[str]

    # A probe must not let a client reach into the server's own network: loopback and private
    # proxy addresses (the webhook address rules) are refused unless the registry, from
    # ORDERATLAS_PROXY_ALLOW_PRIVATE_NETWORKS, allows them.
    allow_private_proxies: bool = False

    async def check_proxy(self, proxy: Proxy, timeout_s: float) -> Failure | None:
        """A TCP probe of the proxy before an order is accepted."""
        try:
            addresses = await targets.resolve(proxy.host, proxy.port, use_dns=True, timeout_s=timeout_s)
        except targets.Unresolvable:
            return Failure(
                "proxy_unreachable", f"proxy {proxy.address} unreachable: its host does not resolve"
            )
        if not self.allow_private_proxies and any(targets.is_unsafe(a) for a in addresses):
            return Failure(
                UNSAFE_PROXY, f"proxy {proxy.address} is or resolves to a non-public address; refused"
            )
        try:
            connecting = asyncio.open_connection(str(addresses[0]), proxy.port)
            _, writer = await asyncio.wait_for(connecting, timeout_s)
        except (OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            return Failure("proxy_unreachable", f"proxy {proxy.address} unreachable: {reason}")
        writer.close()
        await writer.wait_closed()
        return None

    @abstractmethod
    async def login(
        self, credentials: Credentials, platform: str, proxy: Proxy | None, *, fresh: bool
    ) -> LoginResult: ...

    @abstractmethod
    async def get_product(self, session: Session, asin: str) -> ProductResult: ...

    @abstractmethod
    async def checkout(self, session: Session, request: CheckoutRequest) -> CheckoutResult: ...

    @abstractmethod
    async def find_purchase(
        self, credentials: Credentials | None, platform: str, order_reference: str
    ) -> Purchase | None:
        """Look the order up in the retailer's order history: did this reference get placed?

        credentials is None when they are gone (the sweep of orders whose job was lost): an adapter
        must then use what it kept of the session, or raise to leave the order for later.
        """

    @abstractmethod
    async def track(self, session: Session, order: OrderLookup) -> TrackingResult:
        """The order's live status and tracking, as its order page shows them.

        `session` may be one kept from an earlier login (sealed between refreshes); an adapter that
        finds it expired answers SESSION_EXPIRED rather than logging in again.
        """

    @abstractmethod
    async def read_order(self, session: Session, platform: str, platform_order_id: str) -> HistoryResult:
        """Read one order from the logged-in account's order history, with its lines and charges."""

    @abstractmethod
    async def validate_session(self, cookie_string: str, platform: str, proxy: Proxy | None) -> SessionCheck:
        """Whether a browser session (its cookies) is still logged in. The cookies are a secret:
        an adapter uses them for this one request and keeps nothing."""
