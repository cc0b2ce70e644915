"""A forwarder that a test can cut and restore: an outage of PostgreSQL or Redis as the service
sees it (connections refused, open ones dropped), without stopping the real servers that the rest
of the run shares. It listens the way its target does: on a unix socket for the embedded servers
(PostgreSQL's `?host=<dir>`, Redis's `unix://<path>`), on 127.0.0.1 for a TCP URL."""

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class OutageProxy:
    def __init__(self, target_url: str) -> None:
        self._parts = urlsplit(target_url)
        self._dir = Path(tempfile.mkdtemp(prefix="oa-outage-"))
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tcp_port = 0
        query = dict(parse_qsl(self._parts.query))
        if self._parts.scheme == "unix":  # redis: unix:///path/redis.sock
            self._unix_target: str | None = self._parts.path
            self._listen = str(self._dir / "redis.sock")
        elif query.get("host", "").startswith("/"):  # postgres: ...?host=/socket/dir
            port = self._parts.port or 5432
            self._unix_target = f"{query['host']}/.s.PGSQL.{port}"
            self._listen = str(self._dir / f".s.PGSQL.{port}")
        else:
            self._unix_target = None
            self._listen = ""

    @property
    def url(self) -> str:
        """The target's URL, pointed at the proxy."""
        if self._parts.scheme == "unix":
            return urlunsplit(self._parts._replace(path=self._listen))
        if self._unix_target:
            query = {**dict(parse_qsl(self._parts.query)), "host": str(self._dir)}
            return urlunsplit(self._parts._replace(query=urlencode(query)))
        auth = self._parts.netloc.rsplit("@", 1)[0] + "@" if "@" in self._parts.netloc else ""
        return urlunsplit(self._parts._replace(netloc=f"{auth}127.0.0.1:{self._tcp_port}"))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._unix_target:
            return await asyncio.open_unix_connection(self._unix_target)
        return await asyncio.open_connection(self._parts.hostname, self._parts.port)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await self._connect()
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, server_w}
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        self._writers -= {client_w, server_w}

    async def up(self) -> None:
        if self._listen:
            self._server = await asyncio.start_unix_server(self._handle, self._listen)
        else:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._tcp_port)
            self._tcp_port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Refuse new connections and drop every open one, as a crashed server would."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None
        if self._listen:  # Python < 3.13 leaves a closed unix server's socket file behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._listen)


@contextlib.asynccontextmanager
async def outage_proxy(target_url: str) -> AsyncIterator[OutageProxy]:
    proxy = OutageProxy(target_url)
    await proxy.up()
    try:
        yield proxy
    finally:
        if proxy._server is not None:
            await proxy.down()
