"""Dashboard search at a million orders: the trigram index against the same query on a sequential scan.

    .venv/bin/python bench/search.py                       # embedded PostgreSQL in a temp dir
    .venv/bin/python bench/search.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --scratch-db oa_bench_search                      # a server you run: a scratch database on it

Builds the schema with the real migrations in a scratch database, loads --orders orders of one
account with COPY (the indexes are dropped for the load and rebuilt from their own definitions),
ANALYZEs, then times GET /v1/dashboard/orders' service call (its page query and, when the page is
full, its count) for selective and unselective terms, interleaved on one pooled connection as the
API would run them, and the same calls with index scans turned off. Prints p50/p95 per term.
The scratch database (or the temporary embedded server) is removed at the end.
"""

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.accounts.service import create_account
from orderatlas.auth.dependencies import Principal
from orderatlas.config import Settings
from orderatlas.dashboard import service
from orderatlas.db import create_engine, create_sessionmaker, unit_of_work
from orderatlas.embedded import embedded_services
from orderatlas.kit.pagination import Page
from orderatlas.migrate import upgrade
from orderatlas.models import Account, ApiKey

BRANDS = [
    f"{a}{b}"
    for a in ("Acme", "Nova", "Zen", "Orion", "Vex", "Kite", "Polar", "Echo")
    for b in ("", "tek", "ware", "line", "ix", "one")
]
ADJECTIVES = [
    "Wireless",
    "Compact",
    "Deluxe",
    "Portable",
    "Heavy Duty",
    "Ultra",
    "Smart",
    "Classic",
    "Magnetic",
    "Foldable",
] * 4
NOUNS = [
    f"{noun}{suffix}"
    for noun in (
        "Headphones",
        "Charger",
        "Blender",
        "Lamp",
        "Backpack",
        "Keyboard",
        "Mouse",
        "Speaker",
        "Kettle",
        "Tripod",
    )
    for suffix in (
        "",
        " Set",
        " Kit",
        " Stand",
        " Case",
        " Mount",
        " Cover",
        " Bundle",
        " Holder",
        " Adapter",
        " Cable",
        " Dock",
        " Sleeve",
        " Strap",
        " Pad",
        " Hub",
        " Clip",
        " Filter",
        " Base",
        " Ring",
    )
]
STATUSES = (
    ["confirmed"] * 55
    + ["delivered"] * 25
    + ["shipped"] * 8
    + ["out_for_delivery"] * 2
    + ["failed"] * 6
    + ["cancelled"] * 4
)
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
SHIPPING = (
    '{"name": "John Doe", "phone": "5125551234", "line1": "123 Main St", "city": "Austin", '
    '"state": "TX", "zip": "78701"}'
)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _rows(account_id: uuid.UUID, count: int, seed: int) -> Iterator[str]:
    """Tab-separated rows for COPY: ids, titles, buyers and times spread like a busy dropshipper's."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / count
    for n in range(count):
        created = start + step * n
        updated = created + timedelta(seconds=rng.randint(0, 10 * 86400))
        model = "".join(rng.choice(ALNUM) for _ in range(6))
        pack = " Pack" if rng.random() < 0.5 else ""
        title = f"{rng.choice(BRANDS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}{pack} {model}"
        external = f"{_digits(rng, 2)}-{_digits(rng, 5)}-{_digits(rng, 5)}" if rng.random() < 0.7 else "\\N"
        status = rng.choice(STATUSES)
        shipped = status in ("shipped", "out_for_delivery", "delivered")
        tracking = f"1Z{_digits(rng, 16)}" if shipped else "\\N"
        total = f"{rng.randint(500, 30000) / 100:.2f}" if status != "failed" else "\\N"
        yield (
            "\t".join(
                [
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    str(account_id),
                    "f",
                    "sandbox",
                    "AmazonUS",
                    status,
                    f"1{_digits(rng, 2)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
                    "f",
                    "B0" + "".join(rng.choice(ALNUM) for _ in range(8)),
                    "1",
                    title,
                    f"buyer{rng.randint(1, 5000)}@mail{rng.randint(1, 20)}.example",
                    SHIPPING,
                    "[]",
                    "2",
                    "t",
                    "1",
                    "f",
                    "f",
                    "f",
                    created.isoformat(),
                    updated.isoformat(),
                    external,
                    tracking,
                    total,
                ]
            )
            + "\n"
        )


COLUMNS = (
    "id, account_id, test_mode, retailer, platform, status, platform_order_id, multi_item, asin, quantity, "
    "product_title, account_email, shipping_address, notes, credits_charged, logged_in, checkout_attempts, "
    "auto_subscribe_save, subscription_canceled, gift, created_at, updated_at, external_order_id, "
    "tracking_number, total"
)


def _load(dsn: str, account_id: uuid.UUID, count: int) -> float:
    """COPY without the orders indexes, then rebuild each from its own definition."""
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as db:
        indexes = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'orders' AND indexname <> 'pk_orders'"
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        with db.cursor().copy(f"COPY orders ({COLUMNS}) FROM STDIN") as copy:
            batch: list[str] = []
            for row in _rows(account_id, count, seed=11):
                batch.append(row)
                if len(batch) == 10_000:
                    copy.write("".join(batch))
                    batch.clear()
            copy.write("".join(batch))
        db.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            db.execute(definition)
        db.execute("VACUUM ANALYZE orders")
    return time.perf_counter() - started


def _terms(dsn: str) -> list[tuple[str, str]]:
    """Selective terms cut from real rows, and unselective ones from the vocabulary."""
    with psycopg.connect(dsn) as db:
        picks = db.execute(
            "SELECT platform_order_id, external_order_id, product_title, account_email FROM orders "
            "WHERE external_order_id IS NOT NULL ORDER BY id LIMIT 3"
        ).fetchall()
    order_id, external, title, _ = picks[0]
    return [
        ("selective", order_id[4:13]),  # 9 digits across the dash: "4567890-1"
        ("selective", external[3:]),  # the tail of an eBay id
        ("selective", title.rsplit(" ", 1)[1].lower()),  # a model number, in the wrong case
        ("selective", picks[1][0][-7:]),  # the last 7 digits of another order id
        ("unselective", "headphones"),  # ~10% of the orders
        ("unselective", "wireless"),  # ~10%
        ("unselective", "pack"),  # ~50%
    ]


async def _principal(session: AsyncSession, account_id: uuid.UUID) -> Principal:
    account = await session.get(Account, account_id)
    key = (
        await session.scalars(select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.mode == "live"))
    ).first()
    assert account is not None and key is not None
    return Principal(account=account, api_key=key)


async def _time(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    terms: list[tuple[str, str]],
    runs: int,
    *,
    seqscan: bool,
) -> dict[str, tuple[list[float], int]]:
    timings: dict[str, list[float]] = {term: [] for _, term in terms}
    totals: dict[str, int] = {}
    async with sessionmaker() as session:
        principal = await _principal(session, account_id)
        await session.commit()
        for _ in range(runs):
            for _, term in terms:  # interleaved: the plan cache sees every kind of term in turn
                async with session.begin():
                    if seqscan:
                        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
                            await session.execute(text(f"SET LOCAL {setting} = off"))
                    started = time.perf_counter()
                    rows, total = await service.orders(session, principal, term, None, Page(20, 0))
                    timings[term].append((time.perf_counter() - started) * 1000)
                    totals[term] = total
    return {term: (values, totals[term]) for term, values in timings.items()}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _measure(dsn: str, orders: int, runs: int, seq_runs: int) -> None:
    engine = create_engine(dsn, pool_size=1)
    sessionmaker = create_sessionmaker(engine)
    async with unit_of_work(sessionmaker, None) as session:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        account_id = (await create_account(session, email, credits=0, test_credits=0)).account.id
    plain_dsn = make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)
    print(f"loading {orders:,} orders of one account with COPY ...", flush=True)
    print(f"loaded and indexed in {_load(plain_dsn, account_id, orders):.0f} s", flush=True)
    terms = _terms(plain_dsn)
    indexed = await _time(sessionmaker, account_id, terms, runs, seqscan=False)
    forced = await _time(sessionmaker, account_id, terms, seq_runs, seqscan=True)
    await engine.dispose()
    print(f"\nGET /v1/dashboard/orders?search=  page of 20 + total; {runs} runs, {seq_runs} on a seq scan")
    header = ("kind", "term", "matches", "p50 ms", "p95 ms", "seq p50", "seq p95", "speed-up p95")
    print("{:<12}{:<14}{:>9}{:>9}{:>9}{:>10}{:>10}{:>14}".format(*header))
    for kind, term in terms:
        fast, total = indexed[term]
        slow, _ = forced[term]
        fast95, slow95 = _p(fast, 0.95), _p(slow, 0.95)
        print(
            f"{kind:<12}{term:<14}{total:>9,}{statistics.median(fast):>9.1f}{fast95:>9.1f}"
            f"{statistics.median(slow):>10.1f}{slow95:>10.1f}{slow95 / fast95:>13.0f}x"
        )


@contextmanager
def _scratch(database_url: str | None, scratch_db: str | None) -> Iterator[str]:
    """A database to ruin: on the given server, or on an embedded one in a temporary directory."""
    if database_url is None:
        data_dir = Path(tempfile.mkdtemp(prefix="orderatlas-bench-search-"))
        config = Settings(data_dir=data_dir, database_url=None, redis_url=None, secret_key=None)
        try:
            with embedded_services(config, need_redis=False) as resolved:
                assert resolved.database_url
                yield resolved.database_url
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        return
    name = scratch_db or f"oa_bench_search_{os.getpid()}"
    server = make_url(database_url).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each term with the index")
    parser.add_argument(
        "--seq-runs", type=int, default=5, help="timed runs of each term on a sequential scan"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server (any database on it) to make the scratch database on"
    )
    parser.add_argument("--scratch-db", help="the scratch database's name (default oa_bench_search_<pid>)")
    args = parser.parse_args()
    with _scratch(args.database_url, args.scratch_db) as url:
        upgrade(Settings(database_url=url))
        asyncio.run(_measure(url, args.orders, args.runs, args.seq_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
