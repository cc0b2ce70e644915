"""A TCP proxy on 127.0.0.1 in front of a real Redis that holds every reply back: a slow Redis.

Commands reach Redis at once (so its command counters show what was asked), answers come late,
as they do from an overloaded server or over a congested link.
"""

import asyncio
import contextlib


class SlowProxy:
    def __init__(self, target_port: int, reply_delay_s: float) -> None:
        self.target_port = target_port
        self.reply_delay_s = reply_delay_s
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0  # accepted so far: each call that reaches for Redis needs one while it waits

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def __aenter__(self) -> "SlowProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(
                self._pipe(reader, up_writer, delayed=False),
                self._pipe(up_reader, writer, delayed=True),
                return_exceptions=True,
            )
        finally:
            self._tasks.discard(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, delayed: bool) -> None:
        try:
            while data := await source.read(65536):
                if delayed and self.reply_delay_s:  # read each time: a test may speed Redis up again
                    await asyncio.sleep(self.reply_delay_s)  # the slowness simulated, not synchronisation
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()
