"""Rate limits on real Redis: the 61st request, the headers, key modes, bad keys, Redis going away."""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orderatlas.app import create_app
from orderatlas.auth.ratelimit import RateLimiter
from orderatlas.config import Settings
from orderatlas.models import Account, Order
from tests.auth.slow_redis import SlowProxy
from tests.factories import AccountFactory, legacy_order
from tests.process import PrivateRedis

pytestmark = pytest.mark.asyncio

RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


async def test_the_61st_request_in_a_minute_is_429_with_retry_after(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(rate_limit=60)
    remaining = []
    for _ in range(60):
        response = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
        assert response.status_code == 200, response.text
        assert response.headers["ratelimit-limit"] == "60"
        remaining.append(int(response.headers["ratelimit-remaining"]))
        assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
    assert remaining == list(range(59, -1, -1))

    refused = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate limit exceeded: 60 requests per minute", "code": "rate_limited"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["retry-after"] == refused.headers["ratelimit-reset"]


async def test_a_refused_request_does_nothing(
    client: httpx.AsyncClient, accounts: AccountFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    seller = await accounts.create(test_credits=10, rate_limit=1)
    assert (await client.get("/v1/dashboard/orders", headers=seller.test_headers)).status_code == 200
    refused = await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert refused.status_code == 429
    async with sessionmaker() as session:  # no order, no debit
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
        account = await session.get(Account, uuid.UUID(seller.account_id))
        assert account is not None and account.test_credit_balance == 10


async def test_every_counted_response_carries_the_headers(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(test_credits=10, rate_limit=10)
    idempotent = {**seller.test_headers, "Idempotency-Key": "retry-1"}
    responses = [
        await client.post("/v1/order", json=legacy_order(), headers=seller.test_headers),
        await client.get("/v1/order/no-such-order", headers=seller.test_headers),
        await client.get("/v1/dashboard/orders?limit=999", headers=seller.test_headers),
        await client.post("/v1/order", json={"platform": "Nowhere"}, headers=seller.test_headers),
        await client.post("/v1/order", json=legacy_order(), headers=idempotent),  # two deps, one count
        await client.post("/v1/order", json=legacy_order(), headers=idempotent),  # a replay counts too
    ]
    assert [r.status_code for r in responses] == [200, 404, 400, 400, 200, 200]
    assert responses[-1].headers["idempotent-replayed"] == "true"
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["9", "8", "7", "6", "5", "4"]
    assert all(r.headers["ratelimit-limit"] == "10" for r in responses)
    health = await client.get("/healthz")
    assert not any(name in health.headers for name in RATE_HEADERS)  # not counted
    after = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
    assert after.headers["ratelimit-remaining"] == "3"


async def test_each_key_mode_has_its_own_window(client: httpx.AsyncClient, accounts: AccountFactory) -> None:
    seller = await accounts.create(rate_limit=3)
    codes = [
        (await client.get("/v1/dashboard/orders", headers=seller.test_headers)).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    live = await client.get("/v1/dashboard/orders", headers=seller.live_headers)
    assert live.status_code == 200 and live.headers["ratelimit-remaining"] == "2"
    other = await accounts.create(rate_limit=3)
    assert (await client.get("/v1/dashboard/orders", headers=other.test_headers)).status_code == 200


async def test_an_unlimited_account_is_never_refused_and_gets_no_headers(
    client: httpx.AsyncClient, accounts: AccountFactory
) -> None:
    seller = await accounts.create(rate_limit=0)
    for _ in range(80):
        response = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
        assert response.status_code == 200
        assert not any(name in response.headers for name in RATE_HEADERS)
    overview = (await client.get("/v1/dashboard/overview", headers=seller.test_headers)).json()
    assert overview["api_calls_month"] == 81  # still counted


async def test_bad_keys_are_limited_per_client_address(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    settings.invalid_key_rate_limit = 5
    guesses = [{"X-API-Key": f"oatl_live_{uuid.uuid4().hex}"} for _ in range(4)] + [{}]
    codes = [(await client.get("/v1/dashboard/orders", headers=h)).status_code for h in guesses]
    assert codes == [401] * 5
    refused = await client.get("/v1/dashboard/orders", headers={"X-API-Key": "oatl_live_guess"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate limit exceeded: 5 requests per minute"
    assert int(refused.headers["retry-after"]) >= 1


async def test_an_address_over_its_bad_key_limit_cannot_use_even_a_valid_key(
    client: httpx.AsyncClient, accounts: AccountFactory, settings: Settings
) -> None:
    """Otherwise a guesser over the limit still has every guess checked: 429 says wrong, 200 found."""
    settings.invalid_key_rate_limit = 3
    seller = await accounts.create(rate_limit=60)
    before = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
    assert before.status_code == 200  # valid keys are not counted in the address's window
    for _ in range(3):
        guess = {"X-API-Key": f"oatl_test_{uuid.uuid4().hex}"}
        assert (await client.get("/v1/dashboard/orders", headers=guess)).status_code == 401
    found = await client.get("/v1/dashboard/orders", headers=seller.test_headers)
    wrong = await client.get("/v1/dashboard/orders", headers={"X-API-Key": "oatl_test_wrong"})
    for refused in (found, wrong):
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "rate limit exceeded: 3 requests per minute",
            "code": "rate_limited",
        }
        assert int(refused.headers["retry-after"]) >= 1
    # these may tick between the two; and every answer has its own request id (issue 13)
    timed = {"date", "retry-after", "ratelimit-reset", "x-request-id"}
    assert set(found.headers) == set(wrong.headers)  # nothing tells a right guess from a wrong one
    assert {k: v for k, v in found.headers.items() if k not in timed} == {
        k: v for k, v in wrong.headers.items() if k not in timed
    }


async def test_the_window_slides(redis_url: str) -> None:
    """A one-second window, so the slide can be watched: two admitted, the third refused until the
    first leaves the window."""
    client = Redis.from_url(redis_url)
    limiter = RateLimiter(client, window_s=1)
    key = f"oa:rl:test:{uuid.uuid4()}"
    try:
        decisions = [await limiter.hit(key, 2) for _ in range(3)]
        assert [d.admitted for d in decisions if d] == [True, True, False]
        assert decisions[2] is not None and decisions[2].reset_s == 1
        deadline = time.monotonic() + 5
        while not (decision := await limiter.hit(key, 2)) or not decision.admitted:
            assert time.monotonic() < deadline, "the window never slid"
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()


@pytest.fixture
def redis_url(settings: Settings) -> str:
    assert settings.redis_url
    return settings.redis_url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis.log")
    yield server
    server.stop()


@pytest.fixture
async def private_client(settings: Settings, private_redis: PrivateRedis) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the suite's PostgreSQL and a Redis of its own."""
    app = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
            yield http


def _commands(server: PrivateRedis) -> dict[str, int]:
    stats = server.client().info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def test_a_request_costs_exactly_one_redis_round_trip(
    private_client: httpx.AsyncClient, private_redis: PrivateRedis, accounts: AccountFactory
) -> None:
    seller = await accounts.create(rate_limit=100)
    await private_client.get("/v1/dashboard/orders", headers=seller.test_headers)  # loads the script
    private_redis.client().config_resetstat()
    for _ in range(25):
        assert (
            await private_client.get("/v1/dashboard/orders", headers=seller.test_headers)
        ).status_code == 200
    commands = _commands(private_redis)
    for ours_or_handshake in (
        "config",
        "config|resetstat",
        "info",
        "client",
        "client|setinfo",
        "hello",
        "select",
    ):
        commands.pop(ours_or_handshake, None)
    # Redis counts the commands a script runs too: each of the script's once per request, and
    # nothing else, so there was one EVALSHA per request and no other call.
    script = ("time", "zremrangebyscore", "zcard", "zadd", "pexpire", "zrange", "incr", "expire")
    # The address's bad-key window is trimmed and counted too (a second ZREMRANGEBYSCORE and ZCARD).
    assert commands == {"evalsha": 25, **dict.fromkeys(script, 25), "zremrangebyscore": 50, "zcard": 50}


async def test_with_redis_stopped_requests_are_served_and_it_is_logged(
    private_client: httpx.AsyncClient,
    private_redis: PrivateRedis,
    accounts: AccountFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seller = await accounts.create(test_credits=10, rate_limit=2)
    first = await private_client.get("/v1/dashboard/orders", headers=seller.test_headers)
    assert first.headers["ratelimit-remaining"] == "1"
    private_redis.stop()  # mid-test: the limiter's Redis (and the job queue's) is gone

    with caplog.at_level(logging.WARNING, logger="orderatlas.auth.ratelimit"):
        served = [
            await private_client.get("/v1/dashboard/orders", headers=seller.test_headers) for _ in range(5)
        ]
        placed = await private_client.post("/v1/order", json=legacy_order(), headers=seller.test_headers)
    assert [r.status_code for r in served] == [200] * 5  # over the limit of 2, yet served: fail open
    assert not any(name in served[-1].headers for name in RATE_HEADERS)
    assert placed.status_code == 200  # the order is committed; the sweep queues its checkout later
    assert any("rate limiter unavailable" in r.getMessage() for r in caplog.records)
    detail = await private_client.get(f"/v1/order/{placed.json()['order_id']}", headers=seller.test_headers)
    assert detail.status_code == 200 and detail.json()["status"] == "pending"


def _evalshas(server: PrivateRedis) -> int:
    return _commands(server).get("evalsha", 0)


@contextlib.asynccontextmanager
async def _slow_limiter(
    server: PrivateRedis, cool_down_s: float
) -> AsyncIterator[tuple[SlowProxy, RateLimiter]]:
    """A limiter with a 100 ms deadline in front of a Redis that answers 300 ms late."""
    async with SlowProxy(server.port, reply_delay_s=0.3) as proxy:
        client = Redis.from_url(proxy.url)
        try:
            yield proxy, RateLimiter(client, deadline_s=0.1, cool_down_s=cool_down_s)
        finally:
            await client.aclose()


async def test_a_slow_redis_is_given_up_on_at_the_deadline_and_then_left_alone(
    private_redis: PrivateRedis,
) -> None:
    """Redis answers, but 300 ms late: the first call misses its 100 ms deadline and opens the
    breaker; while it is open nothing more is sent, so the slowness costs one request, not all."""
    async with _slow_limiter(private_redis, cool_down_s=60) as (_, limiter):
        decisions = [await limiter.hit(f"oa:rl:test:{uuid.uuid4()}", 5) for _ in range(10)]
    assert decisions == [None] * 10  # failed open, every one
    assert _evalshas(private_redis) <= 1  # only the first call reached Redis


async def test_after_the_cool_down_exactly_one_request_probes_redis(private_redis: PrivateRedis) -> None:
    """Half open: of many concurrent requests one asks Redis, the others go by without waiting."""
    key = f"oa:rl:test:{uuid.uuid4()}"
    async with _slow_limiter(private_redis, cool_down_s=0) as (proxy, limiter):
        assert await limiter.hit(key, 5) is None  # opens the breaker; the cool-down is over at once
        before = proxy.connections  # the late call's connection was dropped: a probe needs a new one
        decisions = await asyncio.gather(*(limiter.hit(key, 5) for _ in range(10)))
        probes = proxy.connections - before
    assert decisions == [None] * 10
    assert probes == 1


async def test_the_breaker_closes_when_redis_answers_in_time_again(private_redis: PrivateRedis) -> None:
    key = f"oa:rl:test:{uuid.uuid4()}"
    async with _slow_limiter(private_redis, cool_down_s=0) as (proxy, limiter):
        assert await limiter.hit(key, 5) is None  # late: the breaker opens
        proxy.reply_delay_s = 0
        probe = await limiter.hit(key, 5)  # answered in time: the breaker closes
        following = await limiter.hit(key, 5)
    assert probe is not None and probe.admitted
    assert following is not None and following.remaining == probe.remaining - 1


async def test_a_slow_redis_does_not_slow_the_api_it_steps_aside(
    settings: Settings,
    private_redis: PrivateRedis,
    accounts: AccountFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seller = await accounts.create(rate_limit=2)
    async with SlowProxy(private_redis.port, reply_delay_s=0.3) as proxy:
        app = create_app(settings.model_copy(update={"redis_url": proxy.url, "rate_limit_timeout_ms": 100}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://orderatlas.test") as http:
                with caplog.at_level(logging.WARNING, logger="orderatlas.auth.ratelimit"):
                    served = [
                        await http.get("/v1/dashboard/orders", headers=seller.test_headers) for _ in range(8)
                    ]
    assert [r.status_code for r in served] == [200] * 8  # over the limit of 2, yet served: fail open
    assert _evalshas(private_redis) <= 2  # not one slow call per request
    assert any("rate limiter unavailable" in r.getMessage() for r in caplog.records)
