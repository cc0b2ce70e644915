"""ASGI middleware: the request id (taken, or made, and returned) and the HTTP metrics.

Pure ASGI and no I/O, so it costs no round trip: the route template is read from the scope
Starlette's router fills in, and an unmatched path is counted as one label, never as itself.
"""

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderatlas.errors import error_body
from orderatlas.observability import context
from orderatlas.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
UNMATCHED = "unmatched"


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


# The method label's values: h11 accepts any token as a method, and each new one would be a series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(method: str) -> str:
    return method if method in _METHODS else "other"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context.clear()
        request_id = context.request_id_from(Headers(scope=scope).get(HEADER))
        context.bind(request_id=request_id)
        status = 500  # what the client gets if the app raises before it answers
        started = time.perf_counter()
        counted = False
        answered = False

        def count() -> None:
            nonlocal counted
            if not counted:
                counted = True
                method, route = _method(scope["method"]), _route(scope)
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                count()  # before the last byte leaves: a client that has its answer sees it counted
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, not by Starlette's outer error middleware: there the context is gone, so
            # the 500 would carry no X-Request-ID and its traceback line no request, account or order.
            if answered:
                raise
            log.exception("unhandled error")
            response = JSONResponse(error_body("internal server error", "internal_error"), status_code=500)
            await response(scope, receive, send_with_id)
        finally:
            count()
            context.clear()  # a server running requests in one task must not carry one into the next
