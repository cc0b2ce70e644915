"""The sandbox's life of an order after checkout: its timeline, tracking number and HTML pages.

A placed purchase ships ORDERATLAS_SANDBOX_SHIP_AFTER_S after it was made and takes one more step
every as long again (out for delivery, then delivered). A plus-tag on the buyer email picks another
ending (docs/sandbox.md). Everything follows from the purchase and the time: nothing is stored.
"""

import hashlib
import html
from datetime import datetime, timedelta
from decimal import Decimal

from orderatlas.kit.money import format_money
from orderatlas.kit.time import iso_z
from orderatlas.models import SandboxPurchase
from orderatlas.orders import statuses as st
from orderatlas.retailers.base import Tracking
from orderatlas.retailers.marketplaces import MARKETPLACES

# The steps after placement, by the ending the buyer email's plus-tag asks for.
TIMELINES: dict[str, tuple[str, ...]] = {
    "": (st.SHIPPED, st.OUT_FOR_DELIVERY, st.DELIVERED),
    "lost": (st.SHIPPED, st.LOST),
    "cancelled": (st.CANCELLED,),
    "refunded": (st.SHIPPED, st.REFUNDED),
    "no_tracking": (),
}
ENDINGS = frozenset(TIMELINES) - {""}
# Statuses whose order page shows a tracking number: the parcel has left.
TRACKED = st.SHIPPING_STATUSES | {st.DELIVERED, st.LOST, st.REFUNDED}
# What the sandbox's order history holds besides its own purchases: any 3-7-7 id not ending so.
NOT_IN_HISTORY_SUFFIX = "0000000"


def status_at(
    placed_status: str, ending: str, placed_at: datetime, now: datetime, step_s: float
) -> tuple[str, datetime | None]:
    """The status at `now`, and when the next step comes (None: there is none)."""
    steps = TIMELINES[ending]
    elapsed = (now - placed_at).total_seconds()
    done = len(steps) if step_s <= 0 else max(0, min(len(steps), int(elapsed // step_s)))
    status = steps[done - 1] if done else placed_status
    if done >= len(steps):
        return status, None
    return status, placed_at + timedelta(seconds=step_s * (done + 1))


def next_step(ending: str, current: str) -> str | None:
    """The timeline's step after `current`, for the advance helper."""
    steps = TIMELINES[ending]
    if current in st.PLACED_STATUSES:
        return steps[0] if steps else None
    if current in steps and steps.index(current) + 1 < len(steps):
        return steps[steps.index(current) + 1]
    return None


def tracking_for(identity: str) -> tuple[str, str]:
    """(tracking number, carrier), derived from the order: mostly AMZL, some UPS and USPS."""
    digits = str(int(hashlib.sha256(f"tracking:{identity}".encode()).hexdigest(), 16))
    pick = int(digits[0])
    if pick < 6:
        return "TBA" + digits[1:13], "AMZL"
    if pick < 8:
        return "1Z5A8E2603" + digits[1:9], "UPS"
    return "9400" + digits[1:19], "USPS"


def estimate(placed_at: datetime, step_s: float) -> tuple[datetime, datetime]:
    """The delivery window the order page promises: from the delivery step to one step later."""
    return placed_at + timedelta(seconds=3 * step_s), placed_at + timedelta(seconds=4 * step_s)


def observe(
    row: SandboxPurchase, ending: str, now: datetime, step_s: float, forced: str | None = None
) -> Tracking:
    """The order page of a purchase at `now`, or as if it had reached `forced` already."""
    status, next_at = status_at(row.status, ending, row.created_at, now, step_s)
    if forced is not None:
        status, next_at = forced, None
    identity = row.platform_order_id or row.order_reference
    number, carrier = tracking_for(identity) if status in TRACKED else ("", "")
    window = estimate(row.created_at, step_s)
    return Tracking(
        status=status,
        tracking_number=number,
        carrier=carrier,
        est_delivery_min=None if status == st.CANCELLED else window[0],
        est_delivery_max=None if status == st.CANCELLED else window[1],
        invoice_html=invoice_html(row),
        order_html=order_html(row.platform, row.platform_order_id, status, number, carrier, window),
        next_change_at=next_at,
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def invoice_html(row: SandboxPurchase) -> str:
    platform, platform_order_id, lines = row.platform, row.platform_order_id, row.lines
    market = MARKETPLACES[platform]

    def money(amount: Decimal | str | int) -> str:
        return html.escape(format_money(Decimal(amount), market.currency, market.locale))

    rows = "\n".join(
        f"<tr><td>{html.escape(str(line['asin']))}</td><td>{html.escape(str(line['quantity']))}</td>"
        f"<td>{html.escape(str(line['seller']))}</td><td>{money(line['unit_price'])}</td></tr>"
        for line in lines
    )
    return _page(
        f"{market.domain} order summary {platform_order_id}",
        f"<h1>Order summary</h1>\n<p>Order #{html.escape(platform_order_id)}, placed {iso_z(row.created_at)}"
        f" on {html.escape(market.domain)} (sandbox)</p>\n"
        f"<table>\n<tr><th>ASIN</th><th>Qty</th><th>Sold by</th><th>Price</th></tr>\n{rows}\n</table>\n"
        f"<p>Items: {money(row.subtotal)}</p>\n<p>Shipping &amp; handling: {money(0)}</p>\n"
        f"<p>Tax: {money(0)}</p>\n<p>Grand total: {money(row.subtotal)}</p>",
    )


def order_html(
    platform: str,
    platform_order_id: str,
    status: str,
    number: str,
    carrier: str,
    window: tuple[datetime, datetime],
) -> str:
    domain = MARKETPLACES[platform].domain
    tracking = (
        f"<p>Carrier: {html.escape(carrier)}</p>\n<p>Tracking ID: {html.escape(number)}</p>"
        if number
        else "<p>Tracking: not available yet</p>"
    )
    return _page(
        f"{domain} track package {platform_order_id}",
        f"<h1>Track package</h1>\n<p>Order #{html.escape(platform_order_id)} (sandbox)</p>\n"
        f"<p>Status: {html.escape(status)}</p>\n{tracking}\n"
        f"<p>Arriving between {iso_z(window[0])} and {iso_z(window[1])}</p>",
    )
