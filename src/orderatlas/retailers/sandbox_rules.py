"""The sandbox retailer's rules as pure functions: what a plus-tag asks, prices, offers, order ids.

docs/sandbox.md describes them for users; retailers/sandbox.py is the adapter that applies them.
"""

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from orderatlas.orders.statuses import FAILURE_CODES
from orderatlas.retailers import sandbox_timeline as timeline
from orderatlas.retailers.base import Failure, Offer, Product
from orderatlas.retailers.marketplaces import MARKETPLACES

DEFAULT_PRICE = Decimal("19.99")
UNREACHABLE_PROXY_PORT = 1
TAGGED_STATUSES = frozenset({"purchased", "warning", "awaiting_approval", "payment_revision"})
LOST_RESPONSE = "lost_response"
REFRESH_FAILS = "refresh_fails"
ASIN = re.compile(r"^[A-Z0-9]{10}$")
HISTORY_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")

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
    ending: str = ""  # a key of sandbox_timeline.TIMELINES
    refresh_fails: bool = False

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
    if tag in timeline.ENDINGS:
        return Behaviour(ending=tag)
    if tag == REFRESH_FAILS:
        return Behaviour(refresh_fails=True)
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


def refusal(code: str, asin: str | None = None) -> Failure:
    return Failure(code, f"sandbox: the retailer refused this order ({code})", asin)
