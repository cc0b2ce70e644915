"""Rate limits shared by every API process: a sliding one-minute window in Redis, one round trip.

Each request is one EVALSHA of the script below. It drops the window's expired entries, counts
the rest, admits or refuses the request, and (for API keys) bumps the month's call counter, all
atomically inside Redis, so any number of API processes share one exact limit.

A limiter must never take the API down, nor slow it: each call has one deadline for everything
(connect, send, answer), and a call that fails or misses it opens a circuit breaker. While it is
open, requests go through unlimited (fail open) without asking Redis; after a cool-down exactly one
request probes Redis (half open) while the others still go by, and an answer in time closes it.
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderatlas.errors import OrderAtlasError
from orderatlas.models.base import utcnow

log = logging.getLogger(__name__)

WINDOW_S = 60
CALLS_TTL_S = 40 * 24 * 3600  # a month's counter outlives its month by about ten days
# A local Redis answers in well under a millisecond; a call that takes longer than this is treated
# as a failure, so an overloaded or distant Redis costs a request at most this much.
DEADLINE_S = 0.1
COOL_DOWN_S = 1.0  # how long an open breaker lets requests skip Redis before one probes it
DECISION_STATE = "rate_limit"  # the request.state attribute the decision is kept in

# KEYS[1]: the window, a sorted set of request times in microseconds. KEYS[2] (optional): the
# month's call counter. KEYS[3] (optional): the bad-key window of the request's client address,
# read, not added to: while it is full, a valid key from that address is refused too, or a guesser
# over the limit would still have every guess checked. ARGV: the limit (0: unlimited), the window
# in microseconds, a member unique to this request, the counter's TTL, the address's limit.
# Returns {verdict (1 admitted, 0 over the limit, 2 over the address's limit), remaining, seconds
# until Remaining goes up, calls}.
_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local remaining, reset = -1, 0
if KEYS[3] then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2])
    return {2, 0, math.max(1, math.ceil((oldest + window - now) / 1000000)), -1}
  end
end
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= limit then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
    return {0, 0, math.max(1, math.ceil((oldest + window - now) / 1000000)), -1}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  remaining = limit - count - 1
  reset = math.max(1, math.ceil((oldest + window - now) / 1000000))
end
local calls = -1
if KEYS[2] then
  calls = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
end
return {1, remaining, reset, calls}
"""


@dataclass(frozen=True)
class Decision:
    admitted: bool
    limit: int  # 0: unlimited
    remaining: int
    reset_s: int  # seconds until the oldest counted request leaves the window
    calls_this_month: int | None = None

    def headers(self) -> dict[str, str]:
        """The IETF draft's fields; none for an unlimited account (there is nothing to pace by)."""
        if self.limit <= 0:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


class RateLimited(OrderAtlasError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"rate limit exceeded: {decision.limit} requests per minute")
        self.headers = {**decision.headers(), "Retry-After": str(decision.reset_s)}


def account_keys(account_id: uuid.UUID, mode: str, now: datetime | None = None) -> tuple[str, str]:
    """The window and this month's (UTC) call counter of one account in one key mode."""
    month = (now or utcnow()).strftime("%Y%m")
    return f"oa:rl:{{{account_id}}}:{mode}", f"oa:calls:{{{account_id}}}:{mode}:{month}"


def address_key(address: str) -> str:
    return f"oa:rl:addr:{address}"


def connect(redis_url: str, deadline_s: float = DEADLINE_S) -> Redis:
    """The limiter's own client: no retries and socket timeouts no longer than the deadline, unlike
    the job queue's pool."""
    return Redis.from_url(redis_url, socket_timeout=deadline_s, socket_connect_timeout=deadline_s)


class Breaker:
    """Closed: every call asks Redis. Open (after a failure): none does until the cool-down is
    over. Half open: one call probes, the others are refused until its answer closes or reopens it."""

    def __init__(self, cool_down_s: float) -> None:
        self._cool_down_s = cool_down_s
        self._open_until: float | None = None  # None: closed
        self._probing = False

    def allow(self) -> bool:
        """May this call ask Redis? True makes the caller the probe when the breaker is half open."""
        if self._open_until is None:
            return True
        if self._probing or time.monotonic() < self._open_until:
            return False
        self._probing = True
        return True

    def succeeded(self) -> bool:
        """Closed (again); True when it was open."""
        was_open = self._open_until is not None
        self._open_until, self._probing = None, False
        return was_open

    def abandoned(self) -> None:
        """The call was cancelled before Redis answered: no verdict, but another call may probe."""
        self._probing = False

    def failed(self) -> bool:
        """Open (again); True when it was closed, so the failure is logged once, not per request."""
        was_closed = self._open_until is None
        self._open_until, self._probing = time.monotonic() + self._cool_down_s, False
        return was_closed


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        window_s: float = WINDOW_S,
        deadline_s: float = DEADLINE_S,
        cool_down_s: float = COOL_DOWN_S,
    ) -> None:
        self._script = redis.register_script(_SCRIPT)
        self._window_us = int(window_s * 1_000_000)
        self._deadline_s = deadline_s
        self._breaker = Breaker(cool_down_s)

    async def hit(
        self,
        window_key: str,
        limit: int,
        calls_key: str | None = None,
        guard: tuple[str, int] | None = None,
    ) -> Decision | None:
        """Count one request. guard: the client address's bad-key window and its limit, refusing
        the request while that window is full (only with a calls_key). None: Redis is unavailable
        or slow, and the request goes through unlimited."""
        if not self._breaker.allow():
            return None
        keys = [window_key] if calls_key is None else [window_key, calls_key]
        args: list[str | int] = [limit, self._window_us, uuid.uuid4().hex, CALLS_TTL_S]
        if guard is not None and calls_key is not None and guard[1] > 0:
            keys.append(guard[0])
            args.append(guard[1])
        try:
            async with asyncio.timeout(self._deadline_s):
                verdict, remaining, reset_s, calls = await self._script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            if self._breaker.failed():
                log.warning("rate limiter unavailable, requests are not limited for now: %r", exc)
            return None
        except BaseException:
            self._breaker.abandoned()  # e.g. the client went away: never stay half open for good
            raise
        if self._breaker.succeeded():
            log.warning("rate limiter reachable again, requests are limited")
        return Decision(
            admitted=verdict == 1,
            limit=guard[1] if verdict == 2 and guard is not None else limit,
            remaining=max(int(remaining), 0),
            reset_s=int(reset_s),
            calls_this_month=int(calls) if int(calls) >= 0 else None,
        )


class RateLimitHeaders:
    """ASGI middleware: RateLimit-* on every response of a request the limiter counted, errors
    included (a 400 or 404 costs a request too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the dict request.state writes to, further in

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = state.get(DECISION_STATE)
                if decision is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in decision.headers().items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
