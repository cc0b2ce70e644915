"""Shared fixtures: a real embedded PostgreSQL and Redis for the whole run, the app, the real worker.

Every test starts from empty tables and an empty Redis.
"""

from _pytest.nodes import Node

# schemathesis 4.32 reads pytest's private Node._nodeid, which pytest 9.2 renamed to Node._id.
if not hasattr(Node, "_nodeid"):
    from _pytest.nodeid import NodeId  # type: ignore[import-not-found]

    Node._nodeid = property(  # type: ignore[attr-defined]
        lambda self: str(self._id), lambda self, value: setattr(self, "_id", NodeId.parse(value))
    )

import asyncio
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from arq import Worker
from arq.connections import ArqRedis, create_pool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orderatlas.app import create_app
from orderatlas.config import Settings
from orderatlas.db import create_engine, create_sessionmaker
from orderatlas.embedded import embedded_services
from orderatlas.jobs import redis_settings
from orderatlas.migrate import upgrade
from orderatlas.models import Base
from orderatlas.models.base import utcnow
from orderatlas.worker import QUEUES, WEBHOOKS, worker_options
from tests.factories import AccountFactory
from tests.fake_stripe import FakeStripeServer
from tests.process import Service, clean_env, create_account, free_port, wait_healthy

# Test clusters need no durability against a power cut (no test crashes the machine), and fsync
# on a shared CI disk costs seconds per run. Every process still writes every byte it would.
FAST_POSTGRES_CONF = "\n# tests/conftest.py\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def fresh_data_dir(template: Path | None = None) -> Path:
    """A data dir outside pytest's tmp tree: pytest resets that tree to mode 0700 whenever any
    pytest starts, which would lock out the unprivileged user the embedded PostgreSQL runs as.

    With `template` (the `pgdata_template` fixture) it starts with a copy of an initialised and
    migrated cluster, as `orderatlas migrate` leaves a data dir: initdb is the slowest step of a
    first start (seconds), and only the tests about a first start need to pay it."""
    path = Path(tempfile.mkdtemp(prefix="orderatlas-test-"))
    if template is not None:  # cp -a keeps the owner (the embedded PostgreSQL's own user under root)
        subprocess.run(["cp", "-a", str(template / "postgres"), str(path / "postgres")], check=True)
    return path


@pytest.fixture(scope="session")
def pgdata_template() -> Iterator[Path]:
    """One cluster per test process, initialised and migrated by the product's own code."""
    path = Path(tempfile.mkdtemp(prefix="orderatlas-template-"))
    template = Settings(data_dir=path, database_url=None, redis_url=None, secret_key=None, retailer=None)
    with embedded_services(template, need_redis=False):
        upgrade(template)
    with (path / "postgres" / "postgresql.conf").open("a") as conf:
        conf.write(FAST_POSTGRES_CONF)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def data_dir(pgdata_template: Path) -> Iterator[Path]:
    """A new user's data dir after `orderatlas migrate` (no secret key, no Redis yet)."""
    path = fresh_data_dir(pgdata_template)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def empty_data_dir() -> Iterator[Path]:
    """A data dir nothing has touched: for the tests of a very first start (initdb included)."""
    path = fresh_data_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(pgdata_template: Path) -> Iterator[Settings]:
    data_dir = fresh_data_dir(pgdata_template)
    test_settings = Settings(
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        secret_key=None,
        retailer=None,
        # Webhook receivers in tests are real servers on 127.0.0.1; and no test may ask DNS anything.
        webhook_allow_private_networks=True,
        webhook_resolve_dns=False,
        default_rate_limit=0,  # as tests/process.py clean_env: tests send far more than 60 a minute
        rate_limit_timeout_ms=2000,  # a loaded machine must not make a limit test fail open
    )
    with embedded_services(test_settings):
        upgrade(test_settings)
        yield test_settings
    shutil.rmtree(data_dir, ignore_errors=True)


@dataclass(frozen=True)
class LiveService:
    base_url: str
    data_dir: Path

    def new_key(self, test_credits: int) -> str:
        """A new account's test key, with this many test-mode credits."""
        email = f"seller-{uuid.uuid4().hex[:12]}@example.com"
        return str(create_account(self.data_dir, email, test_credits=test_credits)["test_api_key"])


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory, pgdata_template: Path) -> Iterator[LiveService]:
    """A real `orderatlas serve` process on its own embedded data dir, shared by the tests that
    need real HTTP and real concurrency. Each test makes its own account.

    Tests using it carry `pytest.mark.xdist_group("live_service")`, so that under xdist one
    worker starts it instead of each."""
    data_dir = fresh_data_dir(pgdata_template)
    port = str(free_port())
    log = tmp_path_factory.mktemp("live") / "serve.log"
    with FakeStripeServer() as stripe:  # top-ups reach a fake Stripe on 127.0.0.1, never the internet
        env = clean_env(
            ORDERATLAS_STRIPE_API_BASE=stripe.url,
            ORDERATLAS_STRIPE_SECRET_KEY="sk_live_fake",
            ORDERATLAS_STRIPE_TEST_SECRET_KEY="sk_test_fake",
            ORDERATLAS_STRIPE_WEBHOOK_SECRET="whsec_live_fake",
            ORDERATLAS_STRIPE_TEST_WEBHOOK_SECRET="whsec_test_fake",
        )
        serve = Service(["serve", "--port", port], data_dir, log, env)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", serve)
            yield LiveService(f"http://127.0.0.1:{port}", data_dir)
        finally:
            serve.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url or "", pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_settings(settings.redis_url or ""))
    yield pool
    await pool.aclose()


def _reset_tables_sql() -> str:
    """One statement that empties every table and restarts every sequence, as TRUNCATE ... RESTART
    IDENTITY CASCADE did, in a few milliseconds instead of ~90: TRUNCATE makes new files for each
    table, DELETE of a test's handful of rows does not. Replica mode skips foreign-key checks and
    triggers, so the order does not matter and no trigger can keep a row."""
    deletes = " ".join(f'DELETE FROM "{table.name}";' for table in Base.metadata.sorted_tables)
    return f"""
        DO $$ DECLARE seq record; BEGIN
            PERFORM set_config('session_replication_role', 'replica', true);
            {deletes}
            FOR seq IN SELECT schemaname, sequencename, start_value FROM pg_sequences
                       WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
                PERFORM setval(format('%I.%I', seq.schemaname, seq.sequencename), seq.start_value, false);
            END LOOP;
        END $$"""


RESET_TABLES = _reset_tables_sql()


@pytest.fixture(autouse=True)
async def _clean_state(engine: AsyncEngine, redis: ArqRedis, settings: Settings) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.execute(text(RESET_TABLES))
    await redis.flushdb()
    saved = settings.model_dump()
    yield
    for name, value in saved.items():  # tests may tweak settings (retailer, latency ...)
        setattr(settings, name, value)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
            yield http


class Clock:
    """Time as the worker and the sandbox see it, moved by the test instead of slept through."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class WorkerRunner:
    """Runs the real arq workers, in burst mode: every queued job, then return.

    Both queues' workers run at once, as in `orderatlas worker`; then the webhook queue's once
    more, for the sends queued after it had emptied. Sends go one at a time, in the order they
    were queued: production sends concurrently and promises no order (docs/webhooks.md), but
    tests that read events in firing order must not depend on which of two sends wins a race.
    Cron jobs (the stuck-order sweep runs at start-up) are left out unless asked for, so that
    the count of completed jobs is the count of checkouts (and sends). `clock` replaces the
    worker's time.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def run(self, *, with_cron: bool = False, clock: Clock | None = None) -> int:
        first = await asyncio.gather(*(self._burst(queue, with_cron, clock) for queue in QUEUES))
        return sum(first) + await self._burst(WEBHOOKS, with_cron, clock)

    async def _burst(self, queue: str, with_cron: bool, clock: Clock | None) -> int:
        options = worker_options(self.settings, queue, burst=True, poll_delay=0.01, handle_signals=False)
        if queue == WEBHOOKS:
            options["max_jobs"] = 1
        if clock is not None:
            options["ctx"] = {**options["ctx"], "clock": clock}
        if not with_cron:
            options["cron_jobs"] = []
        worker = Worker(**options)
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker.jobs_complete


@pytest.fixture
def worker(settings: Settings) -> WorkerRunner:
    return WorkerRunner(settings)


@pytest.fixture
def accounts(sessionmaker: async_sessionmaker[AsyncSession]) -> AccountFactory:
    return AccountFactory(sessionmaker)
