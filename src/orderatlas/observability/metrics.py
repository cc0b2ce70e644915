"""The Prometheus metrics, and GET /metrics' text.

With PROMETHEUS_MULTIPROC_DIR set (several API processes behind one port), prometheus-client
keeps each process's values in that folder and a scrape adds them up. Counts that follow a
database change are made only once it commits (`after_commit`), so a rolled-back order or charge
is never counted.
"""

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterator

from arq.connections import ArqRedis
from arq.constants import default_queue_name
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_AFTER_COMMIT = "orderatlas.after_commit"
# A scrape waits this long for the queue gauges before leaving them out.
QUEUE_READ_TIMEOUT_S = 0.5
# The *_created series (when each label set was first seen) double what a scrape carries and
# nothing here reads them: Prometheus has the process start time already.
disable_created_metrics()

HTTP_REQUESTS = Counter("orderatlas_http_requests", "HTTP requests answered.", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "orderatlas_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"]
)
ORDERS_ACCEPTED = Counter("orderatlas_orders_accepted", "Orders accepted by POST /v1/order.", ["mode"])
ORDERS_FINISHED = Counter(
    "orderatlas_orders_finished",
    "Orders whose checkout ended, by the status it ended in and its failure_reason_code.",
    ["mode", "status", "failure_reason_code"],
)
CHECKOUT_DURATION = Histogram(
    "orderatlas_checkout_duration_seconds",
    "Time one checkout (or its reconciliation) spent at the retailer.",
    ["status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
WEBHOOK_ATTEMPTS = Counter(
    "orderatlas_webhook_attempts", "Webhook and Discord send attempts, by outcome.", ["target", "outcome"]
)
WEBHOOK_LATENCY = Histogram(
    "orderatlas_webhook_attempt_duration_seconds", "Time one webhook attempt took.", ["target"]
)
CREDITS_DEBITED = Counter("orderatlas_credits_debited", "Credits charged.", ["mode", "type"])
CREDITS_REFUNDED = Counter("orderatlas_credits_refunded", "Credits given back.", ["mode", "type"])


def mode(test_mode: bool) -> str:
    return "test" if test_mode else "live"


def after_commit(session: AsyncSession, count: Callable[[], None]) -> None:
    """Run `count` once the unit of work commits; a rollback drops it (db.unit_of_work)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(count)


def run_after_commit(session: AsyncSession) -> None:
    for count in session.info.pop(_AFTER_COMMIT, []):
        count()


def discard_after_commit(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)


class _Queue(Collector):
    """The arq queue as one scrape found it: read from Redis then, not kept by any process."""

    def __init__(self, depth: int, oldest_age_s: float) -> None:
        self.depth, self.oldest_age_s = depth, oldest_age_s

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("orderatlas_job_queue_depth", "Jobs queued, due or deferred.", self.depth)
        yield GaugeMetricFamily(
            "orderatlas_job_queue_oldest_age_seconds",
            "How long the oldest due job has waited (0 when none is due).",
            self.oldest_age_s,
        )


async def _queue(redis: ArqRedis) -> _Queue:
    now_ms = time.time() * 1000
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(default_queue_name)
        pipe.zrangebyscore(default_queue_name, "-inf", now_ms, start=0, num=1, withscores=True)
        depth, oldest = await pipe.execute()
    age = max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0.0
    return _Queue(int(depth), age)


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


async def render(redis: ArqRedis | None) -> bytes:
    """The text a scrape gets: this process's (or all processes') metrics, and the queue's."""
    text = generate_latest(_process_registry())
    if redis is not None:
        try:
            async with asyncio.timeout(QUEUE_READ_TIMEOUT_S):
                gauges = await _queue(redis)
        except (RedisError, OSError, TimeoutError):
            # Without Redis the queue gauges are left out, not the process's own metrics: a scrape
            # that failed whole would mark the target down exactly when its series are needed.
            log.warning("metrics: the job queue could not be read from Redis; its gauges are left out")
            return text
        queue = CollectorRegistry()
        queue.register(gauges)
        text += generate_latest(queue)
    return text


def worker_registry() -> CollectorRegistry:
    """What `orderatlas worker --metrics-port` serves (no queue gauges: the API's scrape has them)."""
    return _process_registry()
