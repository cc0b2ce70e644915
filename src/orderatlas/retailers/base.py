"""The retailer adapter interface.

An adapter logs in, reads products and their offers, checks out, and looks up the retailer's
own order history. Outcomes are data (a Failure carrying a failure_reason_code), not exceptions:
an exception from an adapter means "we do not know what happened", and the checkout treats it
as a possible purchase to reconcile, never as a clean failure.
"""

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

# Statuses a checkout can end in when the retailer accepted the order.
PLACED_STATUSES = frozenset({"confirmed", "purchased", "warning", "awaiting_approval", "payment_revision"})


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


class RetailerAdapter(ABC):
    name: ClassVar[str]

    async def check_proxy(self, proxy: Proxy, timeout_s: float) -> Failure | None:
        """A TCP probe of the proxy before an order is accepted."""
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(proxy.host, proxy.port), timeout_s)
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
