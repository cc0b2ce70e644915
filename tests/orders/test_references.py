"""external_order_id and metadata: the client's own reference, stored, returned, sent, and checked."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.models import CreditTransaction, Order
from tests.conftest import WorkerRunner
from tests.factories import AccountFactory, legacy_order, multi_order
from tests.orders.test_checkout import order, place
from tests.receiver import running_receiver

pytestmark = pytest.mark.asyncio

METADATA = {"ebay_store": "main", "buyer": "jdoe42", "note": "gift wrap, please"}


async def test_both_are_stored_and_returned_on_get(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    order_id = await place(
        client, seller, multi_order(external_order_id=" 12-34567-89012 ", metadata=METADATA)
    )
    detail = await order(client, seller, order_id)
    assert detail["external_order_id"] == "12-34567-89012"  # trimmed
    assert detail["metadata"] == METADATA


async def test_without_them_get_says_empty_not_null(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    detail = await order(client, seller, await place(client, seller, legacy_order(metadata={})))
    assert detail["external_order_id"] == ""
    assert detail["metadata"] == {}


async def test_every_webhook_of_the_order_carries_them_when_set(
    client: httpx.AsyncClient, worker: WorkerRunner, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    with running_receiver() as receiver:
        body = legacy_order(webhook_url=receiver.url, external_order_id="27-11111-22222", metadata=METADATA)
        await place(client, seller, body)
        await place(client, seller, legacy_order(webhook_url=receiver.url))
        await worker.run()
        received = [r.json() for r in receiver.wait_for(6)]
    tagged = [p for p in received if "external_order_id" in p]
    untagged = [p for p in received if "external_order_id" not in p]
    assert [p["status"] for p in tagged] == ["pending", "processing", "confirmed"]
    assert all(p["external_order_id"] == "27-11111-22222" and p["metadata"] == METADATA for p in tagged)
    assert len(untagged) == 3 and all("metadata" not in p for p in untagged)


async def _refused(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    **fields: Any,
) -> dict[str, Any]:
    seller = await accounts.create()
    response = await client.post("/v1/order", json=legacy_order(**fields), headers=seller.test_headers)
    assert response.status_code == 400, response.text
    async with sessionmaker() as session:  # changes nothing: no order, and no debit beside the grant
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        assert await session.scalar(select(func.count()).select_from(CreditTransaction)) == 1
    return dict(response.json())


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        (["a", "b"], "metadata must be a JSON object"),
        ("store=main", "metadata must be a JSON object"),
        ({f"k{n}": "v" for n in range(21)}, "metadata may have at most 20 keys"),
        ({"k" * 41: "v"}, "metadata keys must be 1 to 40 characters"),
        ({"": "v"}, "metadata keys must be 1 to 40 characters"),
        ({"nested": {"a": "b"}}, 'metadata values must be strings: "nested" is an object'),
        ({"list": ["a"]}, 'metadata values must be strings: "list" is an array'),
        ({"count": 3}, 'metadata values must be strings: "count" is a number'),
        ({"flag": True}, 'metadata values must be strings: "flag" is a boolean'),
        ({"gone": None}, 'metadata values must be strings: "gone" is null'),
        ({"long": "x" * 501}, 'metadata values must be at most 500 characters: "long"'),
    ],
)
async def test_each_metadata_rule_is_a_400_that_names_it(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    metadata: Any,
    rule: str,
) -> None:
    error = await _refused(client, accounts, sessionmaker, metadata=metadata)
    assert error["code"] == "invalid_metadata"
    assert error["error"].startswith(rule)


async def test_metadata_at_every_limit_is_accepted(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    metadata = {f"{n:02d}" + "k" * 38: "v" * 500 for n in range(20)}
    detail = await order(client, seller, await place(client, seller, legacy_order(metadata=metadata)))
    assert detail["metadata"] == metadata


async def test_metadata_postgresql_cannot_store_is_invalid_text(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    error = await _refused(client, accounts, sessionmaker, metadata={"k": "a\u0000b"})
    assert error["code"] == "invalid_text"


@pytest.mark.parametrize(
    ("value", "code"), [("x" * 101, "invalid_external_order_id"), (12345, "invalid_external_order_id")]
)
async def test_external_order_id_is_text_of_at_most_100(
    client: httpx.AsyncClient,
    accounts: AccountFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    value: Any,
    code: str,
) -> None:
    error = await _refused(client, accounts, sessionmaker, external_order_id=value)
    assert error["code"] == code


async def test_get_does_not_take_the_external_id_in_the_path(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create()
    await place(client, seller, legacy_order(external_order_id="27-99999-00000"))
    response = await client.get("/v1/order/27-99999-00000", headers=seller.test_headers)
    assert response.status_code == 404  # not unique: the list finds it (GET /v1/orders?external_order_id=)
