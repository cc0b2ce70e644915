"""A scratch PostgreSQL database and Redis for one benchmark run, dropped when it ends.

With ORDERATLAS_DATABASE_URL / ORDERATLAS_REDIS_URL set, the run uses those servers: it creates
its own database beside the one named (same name plus `_bench_<pid>`, so a prefix such as `oa8_`
is kept) and flushes the Redis database named in the URL, which must be one nothing else uses.
Otherwise it starts the embedded PostgreSQL and Redis in a temporary directory.
"""

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@dataclass(frozen=True)
class Scratch:
    database_url: str  # a libpq URL (postgresql://...), for psycopg, pgbench and OrderAtlas alike
    redis_url: str
    secret_key: str
    workdir: Path

    def conninfo(self) -> str:
        return self.database_url

    def env(self) -> dict[str, str]:
        """The production split's configuration: every process gets the same URLs and key."""
        return {
            "ORDERATLAS_DATABASE_URL": self.database_url,
            "ORDERATLAS_REDIS_URL": self.redis_url,
            "ORDERATLAS_SECRET_KEY": self.secret_key,
        }


def libpq_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def _machine_database(url: str) -> Iterator[str]:
    params = conninfo_to_dict(libpq_url(url))
    name = f"{params.get('dbname') or 'orderatlas'}_bench_{os.getpid()}"
    admin = make_conninfo(libpq_url(url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(libpq_url(url), dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_services(keep: bool = False) -> Iterator[Scratch]:
    workdir = Path(tempfile.mkdtemp(prefix="orderatlas-bench-"))
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    db_url, redis_url = os.environ.get("ORDERATLAS_DATABASE_URL"), os.environ.get("ORDERATLAS_REDIS_URL")
    try:
        if db_url and redis_url:
            _flush_redis(redis_url)
            with _machine_database(db_url) as database:
                yield Scratch(_as_uri(database), redis_url, key, workdir)
            _flush_redis(redis_url)
        elif db_url or redis_url:
            raise SystemExit("set both ORDERATLAS_DATABASE_URL and ORDERATLAS_REDIS_URL, or neither")
        else:
            from orderatlas.config import Settings
            from orderatlas.embedded import embedded_services

            settings = Settings(data_dir=workdir / "data", database_url=None, redis_url=None, secret_key=key)
            with embedded_services(settings) as resolved:
                assert resolved.database_url and resolved.redis_url
                yield Scratch(libpq_url(resolved.database_url), resolved.redis_url, key, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _as_uri(conninfo: str) -> str:
    """make_conninfo gives `key=value` pairs; OrderAtlas wants a URL."""
    params = conninfo_to_dict(conninfo)
    user = params.pop("user", "")
    password = params.pop("password", "")
    host = params.pop("host", "")
    port = params.pop("port", "")
    dbname = params.pop("dbname", "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    netloc = f"{auth}{host if host and not host.startswith('/') else ''}{':' + str(port) if port else ''}"
    query = [f"{k}={v}" for k, v in params.items()]
    if host.startswith("/"):
        query.append(f"host={host}")
    return f"postgresql://{netloc}/{dbname}" + ("?" + "&".join(query) if query else "")
