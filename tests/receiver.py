"""A real HTTP webhook receiver on 127.0.0.1, recording every request byte for byte."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    reply_headers: dict[str, str] = field(default_factory=dict)
    reply_body: bytes = b"ok"
    hold: threading.Event | None = None  # set: requests wait for it before answering
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(
        self, count: int, timeout_s: float = 30, matching: Callable[[Received], bool] = lambda _: True
    ) -> list[Received]:
        """The requests that match, once there are at least `count` of them."""

        def matched() -> list[Received]:
            return [r for r in self.requests if matching(r)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matched()) >= count, timeout=timeout_s):
                raise AssertionError(f"receiver got {len(matched())} matching requests, expected {count}")
            return matched()

    def status_chain(self) -> list[str]:
        """The statuses the order.status_changed events fired in, each starting where the one
        before it ended: their order of firing, whatever order the sends arrived in."""
        changes = [r.json() for r in self.requests if r.json().get("event") == "order.status_changed"]
        following = {change["previous_status"]: change["status"] for change in changes}
        walked = ["pending"]
        while walked[-1] in following and len(walked) <= len(changes):
            walked.append(following[walked[-1]])
        return walked

    def record(self, request: Received) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if receiver.hold is not None:
                receiver.hold.wait(timeout=60)
            self.send_response(receiver.status)
            for name, value in receiver.reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(receiver.reply_body)))
            self.end_headers()
            self.wfile.write(receiver.reply_body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()
