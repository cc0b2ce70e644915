"""Which ship-from a label is minted with: the order's, else the account's, else the platform's.

Each source is taken whole, never mixed field by field (a name from one address and a street from
another would be nobody's address). A source counts as given when any of its fields is set; the
one chosen must then have every REQUIRED field, or the conversion cannot run (missing_ship_from).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orderatlas.models import Account, Order
from orderatlas.settings.schemas import SHIP_FROM_FIELDS

FIELDS = ("name", "phone", "line1", "city", "state", "zip")
REQUIRED = ("name", "line1", "city", "zip")
ORDER, ACCOUNT, PLATFORM = "order", "account", "platform"

# The retailer's own return address per marketplace: what the reference calls the platform default.
PLATFORM_DEFAULTS: dict[str, dict[str, str]] = {
    "AmazonUS": {
        "name": "Amazon.com",
        "line1": "410 Terry Ave N",
        "city": "Seattle",
        "state": "WA",
        "zip": "98109",
    },
    "AmazonCA": {
        "name": "Amazon.ca",
        "line1": "120 Bremner Blvd",
        "city": "Toronto",
        "state": "ON",
        "zip": "M5J 0A8",
    },
    "AmazonUK": {
        "name": "Amazon.co.uk",
        "line1": "1 Principal Place",
        "city": "London",
        "state": "",
        "zip": "EC2A 2FA",
    },
    "AmazonDE": {
        "name": "Amazon.de",
        "line1": "Marcel-Breuer-Str. 12",
        "city": "München",
        "state": "",
        "zip": "80807",
    },
    "AmazonFR": {
        "name": "Amazon.fr",
        "line1": "67 Bd du Général Leclerc",
        "city": "Clichy",
        "state": "",
        "zip": "92110",
    },
    "AmazonIT": {
        "name": "Amazon.it",
        "line1": "Viale Monte Grappa 3/5",
        "city": "Milano",
        "state": "MI",
        "zip": "20124",
    },
    "AmazonES": {
        "name": "Amazon.es",
        "line1": "Calle Ramírez de Prado 5",
        "city": "Madrid",
        "state": "",
        "zip": "28045",
    },
    "AmazonIN": {
        "name": "Amazon.in",
        "line1": "Brigade Gateway, 26/1 Dr Rajkumar Rd",
        "city": "Bengaluru",
        "state": "KA",
        "zip": "560055",
    },
}


@dataclass(frozen=True)
class ShipFrom:
    address: dict[str, str]
    source: str  # order | account | platform

    @property
    def missing(self) -> list[str]:
        return [name for name in REQUIRED if not self.address.get(name)]


def _clean(fields: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(fields.get(name) or "").strip() for name in FIELDS}


def account_ship_from(account: Account) -> dict[str, str]:
    return _clean({name.removeprefix("ship_from_"): getattr(account, name) for name in SHIP_FROM_FIELDS})


def resolve(order: Order, account: Account) -> ShipFrom:
    own = _clean(order.ship_from or {})
    if any(own.values()):
        return ShipFrom(own, ORDER)
    configured = account_ship_from(account)
    if any(configured.values()):
        return ShipFrom(configured, ACCOUNT)
    return ShipFrom(_clean(PLATFORM_DEFAULTS.get(order.platform, {})), PLATFORM)
