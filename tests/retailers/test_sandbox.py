"""The sandbox retailer's deterministic rules, checked directly against the adapter."""

import socket
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.orders.statuses import FAILURE_CODES
from orderatlas.retailers.base import CheckoutLine, CheckoutRequest, Credentials, Proxy
from orderatlas.retailers.sandbox import (
    SandboxRetailer,
    behaviour_for,
    platform_order_id,
    sandbox_product,
    unit_price,
)

pytestmark = pytest.mark.asyncio


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("asin", "price"),
    [("B0TEST1485", "14.85"), ("B000000001", "0.01"), ("B09V3KXJPB", "19.99"), ("B0CLWJ1423", "14.23")],
)
async def test_price_comes_from_the_last_four_digits(asin: str, price: str) -> None:
    assert unit_price(asin) == Decimal(price)


async def test_every_product_has_at_least_three_dearer_alternatives_from_other_sellers() -> None:
    product = sandbox_product("B0TEST1485")
    buybox, alternatives = product.offers[0], product.offers[1:]
    assert len(alternatives) >= 3
    assert all(offer.price > buybox.price for offer in alternatives)
    assert len({offer.seller for offer in product.offers}) == len(product.offers)


@pytest.mark.parametrize(
    ("email", "code", "once", "status"),
    [
        ("buyer@example.com", None, False, "confirmed"),
        ("buyer+shipping_restricted@example.com", "SHIPPING_RESTRICTED", False, "confirmed"),
        ("buyer+session_flagged_at_place_once@example.com", "SESSION_FLAGGED_AT_PLACE", True, "confirmed"),
        ("buyer+warning@example.com", None, False, "warning"),
        ("buyer+Awaiting_Approval@example.com", None, False, "awaiting_approval"),
        ("buyer+store42@example.com", None, False, "confirmed"),
    ],
)
async def test_plus_tags_choose_the_behaviour(email: str, code: str | None, once: bool, status: str) -> None:
    behaviour = behaviour_for(email)
    assert (behaviour.failure_code, behaviour.only_first_attempt, behaviour.status) == (code, once, status)


async def test_every_reference_code_is_a_tag() -> None:
    for code in FAILURE_CODES:
        assert behaviour_for(f"buyer+{code.lower()}@example.com").failure_code == code


async def test_platform_order_ids_are_deterministic_3_7_7() -> None:
    first = platform_order_id("order-1", 1)
    assert first == platform_order_id("order-1", 1)
    assert first != platform_order_id("order-2", 1)
    assert [len(part) for part in first.split("-")] == [3, 7, 7]
    assert first.replace("-", "").isdigit()


async def test_proxy_on_port_1_is_unreachable_and_nothing_else_is_probed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    sandbox = SandboxRetailer(sessionmaker)
    refused = await sandbox.check_proxy(Proxy.parse("127.0.0.1:1:u:p"), timeout_s=3)
    assert refused is not None and refused.code == "proxy_unreachable"
    # Nothing listens on a port we just released: a sandbox that really probed would report it refused.
    assert await sandbox.check_proxy(Proxy("127.0.0.1", closed_port()), timeout_s=1) is None


async def test_every_purchase_lands_in_the_history(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    sandbox = SandboxRetailer(sessionmaker)
    credentials = Credentials("buyer@example.com", "pw")
    login = await sandbox.login(credentials, "AmazonUS", None, fresh=False)
    assert login.session is not None
    product = sandbox_product("B0TEST1485")
    request = CheckoutRequest(
        order_reference="ref-1",
        platform="AmazonUS",
        lines=(CheckoutLine("B0TEST1485", 2, product.buybox),),
        shipping_address={},
        attempt=1,
    )
    assert await sandbox.find_purchase(credentials, "AmazonUS", "ref-1") is None
    result = await sandbox.checkout(login.session, request)
    found = await sandbox.find_purchase(credentials, "AmazonUS", "ref-1")
    assert found is not None
    assert found.platform_order_id == result.platform_order_id
    assert found.charges.total == Decimal("29.70")


async def test_proxy_strings_parse_as_the_reference_spells_them() -> None:
    assert Proxy.parse("1.2.3.4:8080") == Proxy("1.2.3.4", 8080)
    full = Proxy.parse("1.2.3.4:8080:user:secret")
    assert (full.username, full.password) == ("user", "secret")
    assert "secret" not in repr(full)
    for bad in ("1.2.3.4", "1.2.3.4:http", "1.2.3.4:70000", ":80", "a:1:b"):
        with pytest.raises(ValueError):
            Proxy.parse(bad)
