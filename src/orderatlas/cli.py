"""The `orderatlas` command: serve, api, worker, migrate, accounts (create, show, credit, set-rate-limit)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orderatlas.config import Settings, settings
from orderatlas.kit.logs import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="OrderAtlas: a self-hostable order-placement API.", no_args_is_help=True)
accounts_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the embedded PostgreSQL, Redis and secret key live (env: ORDERATLAS_DATA_DIR).",
        show_default=False,
    ),
]
Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _configure(data_dir: Path | None) -> None:
    if data_dir is not None:
        settings.data_dir = data_dir
    configure_logging(settings)


@contextmanager
def _services(config: Settings, *, need_redis: bool = True) -> Iterator[Settings]:
    """The embedded default for whatever is not configured; a configuration error exits cleanly."""
    from orderatlas.embedded import ConfigurationError, check_configuration, embedded_services

    try:
        check_configuration(config, need_redis=need_redis)
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with embedded_services(config, need_redis=need_redis) as resolved:
        yield resolved


def _serve(host: str, port: int, *, run_worker: bool, workers: int = 1) -> None:
    import uvicorn

    from orderatlas.app import create_app
    from orderatlas.migrate import upgrade

    # uvicorn re-raises the SIGTERM it caught once it has shut down; turning that into SystemExit
    # lets the embedded servers stop cleanly instead of the process dying on the spot.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # One line per request at INFO costs a sizeable share of a fast request: off unless asked for.
    # log_config=None: uvicorn's loggers go through our root handler, in the chosen format.
    logs = {"log_level": "info", "access_log": settings.access_log, "log_config": None}
    with _services(settings):
        if run_worker:
            upgrade(settings)
        if workers == 1:
            uvicorn.run(create_app(settings, run_worker=run_worker), host=host, port=port, **logs)
            return
        # The children build their app from the environment: hand them what was resolved here,
        # and one PROMETHEUS_MULTIPROC_DIR so that whichever answers /metrics adds them all up.
        os.environ.update(_resolved_environment(settings))
        made = None
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            made = tempfile.mkdtemp(prefix="orderatlas-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
        try:
            uvicorn.run(
                "orderatlas.app:app_from_environment",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                **logs,
            )
        finally:
            if made:
                shutil.rmtree(made, ignore_errors=True)


def _resolved_environment(config: Settings) -> dict[str, str]:
    assert config.database_url and config.redis_url and config.secret_key
    return {
        "ORDERATLAS_DATA_DIR": str(config.data_dir),
        "ORDERATLAS_DATABASE_URL": config.database_url,
        "ORDERATLAS_REDIS_URL": config.redis_url,
        "ORDERATLAS_SECRET_KEY": config.secret_key,
    }


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000, data_dir: DataDir = None) -> None:
    """Run the API and a worker in one process, migrating first (the embedded default)."""
    _configure(data_dir)
    _serve(host, port, run_worker=True)


Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        help="API processes sharing the port (about one per CPU core the API may use).",
    ),
]


@app.command()
def api(host: Host = "127.0.0.1", port: Port = 8000, data_dir: DataDir = None, workers: Workers = 1) -> None:
    """Run the API only. Run any number of these against one PostgreSQL and Redis."""
    _configure(data_dir)
    _serve(host, port, run_worker=False, workers=workers)


class WorkerQueue(StrEnum):
    all = "all"
    checkouts = "checkouts"
    webhooks = "webhooks"


Queue = Annotated[
    WorkerQueue,
    typer.Option(
        "--queue",
        help="all: checkouts and webhook sends, each in slots of its own (ORDERATLAS_WORKER_MAX_JOBS, "
        "ORDERATLAS_WEBHOOK_MAX_JOBS); checkouts or webhooks: only that one.",
    ),
]


@app.command()
def worker(
    data_dir: DataDir = None,
    queue: Queue = WorkerQueue.all,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on this port (/metrics).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface the metrics port listens on.")] = "127.0.0.1",
) -> None:
    """Run a worker: checkouts and webhook sends. Run any number of these against one PostgreSQL and Redis."""
    _configure(data_dir)
    from orderatlas import worker as registry

    queues = registry.QUEUES if queue is WorkerQueue.all else (queue.value,)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from orderatlas.observability.metrics import worker_registry

        start_http_server(metrics_port, addr=metrics_host, registry=worker_registry())
    with _services(settings):
        asyncio.run(registry.run(settings, queues))


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply the database migrations."""
    _configure(data_dir)
    from orderatlas.migrate import upgrade

    with _services(settings, need_redis=False):
        upgrade(settings)
    typer.echo("database is up to date")


def _run_in_database(work: Callable[[AsyncSession], Awaitable[dict[str, object]]]) -> None:
    """Migrate, run `work` in one unit of work, print its JSON; an OrderAtlasError exits 1."""
    from orderatlas.db import create_engine, create_sessionmaker, unit_of_work
    from orderatlas.errors import OrderAtlasError
    from orderatlas.migrate import upgrade

    async def run() -> dict[str, object]:
        engine = create_engine(settings.database_url or "", pool_size=1)
        try:
            async with unit_of_work(create_sessionmaker(engine), None) as session:
                return await work(session)
        finally:
            await engine.dispose()

    with _services(settings, need_redis=False):
        upgrade(settings)
        try:
            result = asyncio.run(run())
        except OrderAtlasError as exc:
            typer.echo(json.dumps({"error": exc.message, "code": exc.code}), err=True)
            raise typer.Exit(1) from None
    typer.echo(json.dumps(result))


Email = Annotated[str, typer.Option(help="The account's email.")]


@accounts_app.command("create")
def accounts_create(
    email: Email,
    credits: Annotated[int, typer.Option(min=0, help="Live (paid) credits granted at creation.")] = 0,
    test_credits: Annotated[
        int | None,
        typer.Option(min=0, help="Test-mode credits to start with [default: ORDERATLAS_TEST_CREDITS]."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account with a live and a test API key; prints them once, as JSON.

    Its rate limit is ORDERATLAS_DEFAULT_RATE_LIMIT (60 requests per minute unless set; 0: unlimited)."""
    _configure(data_dir)
    from orderatlas.accounts.service import create_account

    async def create(session: AsyncSession) -> dict[str, object]:
        test = settings.test_credits if test_credits is None else test_credits
        new = await create_account(
            session, email, credits=credits, test_credits=test, rate_limit=settings.default_rate_limit
        )
        return {
            "account_id": str(new.account.id),
            "email": new.account.email,
            "credit_balance": new.account.credit_balance,
            "test_credit_balance": new.account.test_credit_balance,
            "api_key": new.live_key.plaintext,
            "test_api_key": new.test_key.plaintext,
        }

    _run_in_database(create)


@accounts_app.command("show")
def accounts_show(email: Email, data_dir: DataDir = None) -> None:
    """Print an account, its keys (prefixes only) and both balances, as JSON."""
    _configure(data_dir)
    from orderatlas.accounts.service import find_account
    from orderatlas.kit.time import iso_z

    async def show(session: AsyncSession) -> dict[str, object]:
        found = await find_account(session, email)
        account = found.account
        return {
            "account_id": str(account.id),
            "email": account.email,
            "created_at": iso_z(account.created_at),
            "credit_balance": account.credit_balance,
            "credits_owed": account.credits_owed,
            "test_credit_balance": account.test_credit_balance,
            "test_credits_owed": account.test_credits_owed,
            "api_keys": [
                {
                    "id": str(key.id),
                    "key_prefix": key.key_prefix,
                    "mode": key.mode,
                    "name": key.name,
                    "active": key.active,
                    "created_at": iso_z(key.created_at),
                }
                for key in found.keys
            ],
        }

    _run_in_database(show)


@accounts_app.command("credit")
def accounts_credit(
    email: Email,
    amount: Annotated[int, typer.Option(help="Credits to add (negative: to take away).")],
    reason: Annotated[str, typer.Option(help="Why: the ledger row's description.")],
    test: Annotated[bool, typer.Option("--test", help="Adjust the test-mode balance instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Write an adjustment to the ledger (never below zero) and print the new balance as JSON."""
    _configure(data_dir)
    from orderatlas.accounts.service import credit_account

    async def credit(session: AsyncSession) -> dict[str, object]:
        account, balance = await credit_account(session, email, amount, reason, test_mode=test)
        return {
            "account_id": str(account.id),
            "email": account.email,
            "mode": "test" if test else "live",
            "amount": amount,
            "credit_balance": balance,
        }

    _run_in_database(credit)


@accounts_app.command("set-rate-limit")
def accounts_set_rate_limit(
    email: Email,
    per_minute: Annotated[
        int, typer.Option(help="Requests per minute for each key mode of the account; 0 means unlimited.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Set an account's rate limit. Running API processes apply it from the account's next request."""
    _configure(data_dir)
    from orderatlas.accounts.service import set_rate_limit

    async def update(session: AsyncSession) -> dict[str, object]:
        account = await set_rate_limit(session, email, per_minute)
        return {"email": account.email, "rate_limit": account.rate_limit}

    _run_in_database(update)


if __name__ == "__main__":
    app()
