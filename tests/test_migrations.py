"""Migrations on a database that already holds data: what 0004 and later do to what came before."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url

from orderatlas.billing import service as billing
from orderatlas.config import Settings
from orderatlas.config import settings as process_settings
from orderatlas.db import create_engine, create_sessionmaker, unit_of_work
from orderatlas.migrate import alembic_config
from orderatlas.models import Base

pytestmark = pytest.mark.asyncio


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def scratch_url(settings: Settings) -> AsyncIterator[str]:
    """An empty database of its own on the suite's PostgreSQL, dropped afterwards."""
    name = f"oa10_migrations_{uuid.uuid4().hex[:12]}"
    server = libpq(settings.database_url or "")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(settings.database_url or "").set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def migrate(url: str, revision: str, *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    await asyncio.to_thread(step, alembic_config(url), revision)  # alembic runs its own event loop


def balances_and_ledgers(url: str, account_id: uuid.UUID) -> dict[str, tuple[int, int]]:
    with psycopg.connect(libpq(url)) as conn:
        live, test = conn.execute(
            "SELECT credit_balance, test_credit_balance FROM accounts WHERE id = %s", (account_id,)
        ).fetchone() or (None, None)
        sums = dict(
            conn.execute(
                "SELECT test_mode, sum(amount) FROM credit_transactions WHERE account_id = %s GROUP BY 1",
                (account_id,),
            ).fetchall()
        )
    return {"live": (live, int(sums.get(False, 0))), "test": (test, int(sums.get(True, 0)))}


def seed_at_0003(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An account as 0003 knew it: one balance, its CLI grant written as a deposit, and a test-key
    order still pending whose debit took the live balance (the rule before 0004)."""
    account_id, order_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(
            "INSERT INTO accounts (id, email, credit_balance, webhook_secret) VALUES (%s, %s, 10, 'x')",
            (account_id, f"{account_id.hex}@example.com"),
        )
        conn.execute(
            "INSERT INTO orders (id, account_id, test_mode, retailer, platform, status, multi_item, asin,"
            " quantity, account_email, shipping_address, auto_subscribe_save, subscription_canceled, gift,"
            " logged_in, notes, credits_charged, checkout_attempts, updated_at) VALUES (%s, %s, true,"
            " 'sandbox', 'AmazonUS', 'pending', false, 'B09V3KXJPB', 1, 'b@example.com', '{}', false,"
            " false, false, false, '[]', 2, 0, now())",
            (order_id, account_id),
        )
        conn.execute(
            "INSERT INTO credit_transactions"
            " (id, account_id, amount, type, description, order_id, created_at)"
            " VALUES (%s, %s, 12, 'deposit', 'Initial grant of 12 credits', NULL, now() - interval '1 day'),"
            " (%s, %s, -2, 'order_debit', %s, %s, now())",
            (uuid.uuid4(), account_id, uuid.uuid4(), account_id, f"Order placement: {order_id}", order_id),
        )
    return account_id, order_id


def types(url: str, account_id: uuid.UUID) -> list[tuple[str, int, bool]]:
    with psycopg.connect(libpq(url)) as conn:
        return conn.execute(
            "SELECT type, amount, test_mode FROM credit_transactions WHERE account_id = %s ORDER BY seq",
            (account_id,),
        ).fetchall()


async def test_an_upgraded_account_keeps_each_ledger_summing_to_its_balance(scratch_url: str) -> None:
    await migrate(scratch_url, "0003")
    account_id, _ = seed_at_0003(scratch_url)
    await migrate(scratch_url, "head")
    grant = process_settings.test_credits  # what 0004 gives every existing account in test mode
    assert balances_and_ledgers(scratch_url, account_id) == {"live": (10, 10), "test": (grant, grant)}
    # The CLI's grant is not a purchase: `deposit` means a paid top-up since 0004.
    assert types(scratch_url, account_id)[:2] == [("adjustment", 12, False), ("order_debit", -2, False)]


async def test_an_order_in_flight_at_the_upgrade_is_refunded_to_the_live_balance_it_was_debited_from(
    scratch_url: str,
) -> None:
    await migrate(scratch_url, "0003")
    account_id, order_id = seed_at_0003(scratch_url)
    await migrate(scratch_url, "head")
    engine = create_engine(scratch_url, pool_size=1)
    try:
        async with unit_of_work(create_sessionmaker(engine), None) as session:
            assert await billing.refund_order(session, order_id, "checkout_job_lost")
    finally:
        await engine.dispose()
    grant = process_settings.test_credits
    assert balances_and_ledgers(scratch_url, account_id) == {"live": (12, 12), "test": (grant, grant)}


async def test_0006_downgrades_and_upgrades_again(scratch_url: str) -> None:
    await migrate(scratch_url, "0003")
    account_id, _ = seed_at_0003(scratch_url)
    await migrate(scratch_url, "head")
    await migrate(scratch_url, "0005", down=True)
    assert types(scratch_url, account_id)[0] == ("deposit", 12, False)
    await migrate(scratch_url, "head")
    assert types(scratch_url, account_id)[0] == ("adjustment", 12, False)


# Indexes only a migration can describe (expression GIN indexes; see models/order.py).
MIGRATION_ONLY_INDEXES = {"ix_orders_search_trgm", "ix_orders_metadata"}


def _compared(name: str | None, type_: str, _: object) -> bool:
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


def schema_differences(url: str) -> list[object]:
    engine = sqlalchemy.create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _compared})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


async def test_the_migrations_build_the_schema_the_models_describe(scratch_url: str) -> None:
    await migrate(scratch_url, "head")
    assert await asyncio.to_thread(schema_differences, scratch_url) == []


async def test_0009_gives_each_account_a_test_secret_and_each_event_its_mode(scratch_url: str) -> None:
    await migrate(scratch_url, "0003")
    first, test_order = seed_at_0003(scratch_url)
    second, _ = seed_at_0003(scratch_url)
    live_event, test_event, orphan_event = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(libpq(scratch_url)) as conn:
        conn.execute(
            "INSERT INTO webhook_events (id, account_id, order_id, event, payload, created_at) VALUES"
            " (%s, %s, NULL, 'order.created', '{}', now()), (%s, %s, %s, 'order.created', '{}', now()),"
            " (%s, %s, %s, 'order.created', '{}', now())",
            (live_event, first, test_event, first, test_order, orphan_event, first, uuid.uuid4()),
        )
    await migrate(scratch_url, "head")
    with psycopg.connect(libpq(scratch_url)) as conn:
        secrets = dict(conn.execute("SELECT id, test_webhook_secret FROM accounts").fetchall())
        modes = dict(conn.execute("SELECT id, livemode FROM webhook_events").fetchall())
        payloads = dict(conn.execute("SELECT id, payload->'livemode' FROM webhook_events").fetchall())
    assert all(len(s) == 64 and int(s, 16) >= 0 for s in secrets.values())
    assert secrets[first] != secrets[second] and "x" not in secrets.values()
    # A test order's event is a test event; one whose order is gone stays live, where test keys can't see.
    assert modes == {live_event: True, test_event: False, orphan_event: True}
    assert payloads == modes
