"""The log context of a request or job (request_id, account_id, order_id), carried into the jobs it queues.

Context variables, so that every log line written while serving one request or running one job
carries them without anyone passing them along. A job gets the context of whoever queued it as
one extra keyword argument, so one order can be followed from its POST to its last webhook.
"""

import functools
import re
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

FIELDS = ("request_id", "account_id", "order_id")
JOB_KWARG = "log_context"  # the keyword argument a queued job carries its context in

# Letters, digits and a few separators, at most 128: what proxies and tracing systems send, and
# nothing that could forge a second log field or header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")

_vars: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is well-formed, else a new one."""
    if header and _WELL_FORMED.fullmatch(header):
        return header
    return uuid.uuid4().hex


def bind(**values: object) -> None:
    """Set fields of the current context (None values are left as they are)."""
    for name, value in values.items():
        if value is not None:
            _vars[name].set(str(value))


def current() -> dict[str, str]:
    """The fields set in this context, for a log line or a job being queued."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


def clear() -> None:
    for var in _vars.values():
        var.set(None)


JobFunction = Callable[..., Awaitable[Any]]


def carried(function: JobFunction, *, order_arg: bool = False) -> JobFunction:
    """Wrap an arq job so it runs in the context its queuer sent; `order_arg`: its first argument
    is the order's id. Jobs queued before this existed (no keyword) run with an empty context."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        clear()  # arq runs each job in its own task, but a cron job shares nothing with a request
        bind(**(kwargs.pop(JOB_KWARG, None) or {}))
        if order_arg and args:
            bind(order_id=args[0])
        return await function(ctx, *args, **kwargs)

    return run
