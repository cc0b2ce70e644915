"""Rate limits shared by every API process: a sliding one-minute window in Redis, one round trip.

Each request is one EVALSHA of the script below. It drops the window's expired entries, counts
the rest, admits or refuses the request, and (for API keys) bumps the month's call counter, all
atomically inside Redis, so any number of API processes share one exact limit. When Redis cannot
be reached the limiter steps aside (fails open) and logs it: a limiter must never take the API down.
"""

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
REDIS_TIMEOUT_S = 0.5  # per socket operation; a slow Redis costs a request at most this much
STEP_ASIDE_S = 1.0  # after a failure, requests skip Redis this long instead of each waiting on it
DECISION_STATE = "rate_limit"  # the request.state attribute the decision is kept in

# KEYS[1]: the window, a sorted set of request times in microseconds. KEYS[2] (optional): the
# month's call counter. ARGV: the limit (0: unlimited), the window in microseconds, a member unique
# to this request. Returns {admitted (0/1), remaining, seconds until Remaining goes up, calls}.
_SCRIPT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local remaining, reset = -1, 0
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
    """The window and this month's (UTC) call counter of one account in one key mode. The braces
    keep both in one Redis Cluster slot, as a script's keys must be."""
    month = (now or utcnow()).strftime("%Y%m")
    return f"oa:rl:{{{account_id}}}:{mode}", f"oa:calls:{{{account_id}}}:{mode}:{month}"


def address_key(address: str) -> str:
    return f"oa:rl:addr:{address}"


def connect(redis_url: str) -> Redis:
    """The limiter's own client: short timeouts and no retries, unlike the job queue's pool."""
    return Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)


class RateLimiter:
    def __init__(self, redis: Redis, *, window_s: float = WINDOW_S) -> None:
        self._script = redis.register_script(_SCRIPT)
        self._window_us = int(window_s * 1_000_000)
        self._skip_until = 0.0

    async def hit(self, window_key: str, limit: int, calls_key: str | None = None) -> Decision | None:
        """Count one request. None: Redis is unavailable, and the request goes through unlimited."""
        if time.monotonic() < self._skip_until:
            return None
        keys = [window_key] if calls_key is None else [window_key, calls_key]
        try:
            admitted, remaining, reset_s, calls = await self._script(
                keys=keys, args=[limit, self._window_us, uuid.uuid4().hex, CALLS_TTL_S]
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self._skip_until = time.monotonic() + STEP_ASIDE_S
            log.warning("rate limiter unavailable, requests are not limited for now: %r", exc)
            return None
        return Decision(
            admitted=bool(admitted),
            limit=limit,
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
