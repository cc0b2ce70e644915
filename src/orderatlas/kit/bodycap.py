"""An ASGI middleware that refuses request bodies over a size, before anything parses them.

FastAPI reads and parses a whole body before authentication runs, so without a cap a few
unauthenticated 2 GB requests would exhaust memory. A body is refused with 413 body_too_large
when its Content-Length says it is too large (nothing is read), and, for a chunked body or one
whose Content-Length lies, as soon as the bytes received pass the cap (the rest is never read).
"""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CODE = "body_too_large"


def _too_large(limit: int) -> tuple[Message, Message]:
    body = json.dumps({"error": f"request body is larger than {limit} bytes", "code": CODE}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the unread rest of the body must not be taken for a request
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            for message in _too_large(self.max_bytes):
                await send(message)
            return
        received = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now and tell the app the client left: whatever it answers is dropped.
                    refused = True
                    for reply in _too_large(self.max_bytes):
                        await send(reply)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)
