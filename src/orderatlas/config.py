"""Runtime configuration: one Settings class read from ORDERATLAS_* environment variables."""

import base64
import json
import re
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, PositiveInt, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The highest per-minute limit an account can be given: the limiter keeps one entry per request.
MAX_RATE_LIMIT = 100_000
DEFAULT_RATE_LIMIT = 60  # requests per minute, as the reference promises


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ORDERATLAS_", extra="ignore", validate_assignment=True, populate_by_name=True
    )

    # Unset URLs mean "start the embedded PostgreSQL / Redis under data_dir" (see embedded.py).
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".orderatlas")

    # AES-GCM key (urlsafe base64 of 32 bytes) sealing retailer secrets inside job payloads.
    # Unset: generated once and kept in data_dir/secret.key. Every API and worker process must share it.
    secret_key: str | None = None

    # Adapter used by oatl_live_ keys. Unset means live orders are refused with 503.
    retailer: str | None = None
    sandbox_latency_ms: int = Field(default=0, ge=0)
    proxy_probe_timeout_s: float = Field(default=3.0, gt=0)
    # Proxies on loopback/private addresses: refused by the live adapters' probe unless this is set.
    proxy_allow_private_networks: bool = False

    # The price list: every route that charges reads these, and GET /v1/billing/balance shows them.
    # ORDERATLAS_PLACEMENT_COST is the older name of the first one. A validation alias is read
    # without the env prefix, so only prefixed names are listed (populate_by_name covers Settings(
    # cost_order_placement=...)): a bare COST_ORDER_PLACEMENT of another program must not set a price.
    cost_order_placement: int = Field(
        default=2,
        ge=0,
        validation_alias=AliasChoices("ORDERATLAS_COST_ORDER_PLACEMENT", "ORDERATLAS_PLACEMENT_COST"),
    )
    cost_tracking_conversion: int = Field(default=1, ge=0)
    cost_order_import: int = Field(default=1, ge=0)
    # Every new account starts with this many test-mode credits (a separate balance from live).
    test_credits: int = Field(default=1000, ge=0)

    # Stripe Checkout top-ups. Unset secret key: POST /v1/billing/topup answers 503 for that mode.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_test_secret_key: str | None = None
    stripe_test_webhook_secret: str | None = None
    # Another Stripe API (stripe-mock, a local fake); unset means Stripe's own.
    stripe_api_base: str | None = None
    stripe_timeout_s: float = Field(default=10.0, gt=0)
    credit_price_cents: int = Field(default=10, ge=1)
    credit_currency: str = Field(default="usd", pattern=r"^[a-zA-Z]{3}$")
    topup_min_credits: int = Field(default=10, ge=1)
    topup_max_credits: int = Field(default=100_000, ge=1)

    # Base URL clients reach this service on; links to invoice and order-page copies are built on it.
    # Unset: the scheme and host the request came in on.
    public_url: str | None = None
    # Orders in a placed or shipping status are looked up at the retailer about this often, +-25%.
    tracking_refresh_s: int = Field(default=8 * 3600, ge=1)
    # The sandbox ships a placed order this long after the purchase, and takes one more step
    # (out for delivery, delivered) every this many seconds after that.
    sandbox_ship_after_s: float = Field(default=60.0, ge=0)

    # Tracking conversion (docs/conversion.md). Test keys always use the sandbox provider; live keys
    # use this one (unset: live conversions answer 503 conversion_provider_not_configured).
    conversion_provider: str | None = None
    # The poller tries each eligible order about this often (+-25%), its first try at a random
    # point of the first interval, so orders placed together spread over it.
    conversion_poll_s: int = Field(default=3 * 3600, ge=1)
    conversion_timeout_s: float = Field(default=30.0, gt=0)  # one provider call, then "unavailable"
    sandbox_conversion_slow_s: float = Field(default=2.0, ge=0)  # the sandbox's slow ship-to zip 00003

    worker_max_jobs: int = Field(default=10, ge=1)
    # A worker looks at the queue this often (arq's poll_delay) and starts at most its free slots'
    # worth of jobs per look, so this bounds both a new job's wait and a worker's jobs per second
    # (worker_max_jobs / this: 500 a second at the defaults). arq's own 0.5 s capped a worker at 20.
    worker_poll_delay_s: float = Field(default=0.02, gt=0, le=60)
    # The webhook dispatch and tracking refresh sweeps run at each multiple of this many seconds
    # past the minute, so it must divide 60.
    worker_sweep_every_s: int = Field(default=5, ge=1, le=60)
    # Webhook sends one worker process runs at once, in slots of their own (not worker_max_jobs).
    webhook_max_jobs: int = Field(default=10, ge=1)
    checkout_job_timeout_s: int = Field(default=600, ge=1)
    # After an adapter error the job is retried this much later, and the retry reconciles.
    checkout_retry_delay_s: float = Field(default=5.0, ge=0)
    # Orders processing this long with no job left in Redis are reconciled by the sweep; pending
    # ones (their job was lost before it started, so nothing was bought) are failed after the second.
    checkout_stuck_after_s: int = Field(default=900, ge=1)
    checkout_lost_after_s: int = Field(default=60, ge=1)

    # Webhooks: seconds between attempts after the first; one more attempt than entries.
    webhook_retry_schedule_s: Annotated[list[PositiveInt], NoDecode] = [
        5,
        10,
        15,
        300,
        1800,
        7200,
        18000,
        36000,
    ]
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # A delivery claimed by a worker that died is picked up again after this long.
    webhook_lease_s: int = Field(default=60, ge=1)
    # Loopback/private/link-local/CGNAT/unique-local targets: refused unless this is set (local dev, tests).
    webhook_allow_private_networks: bool = False
    # Events whose deliveries all ended (delivered or failed) are deleted after this many days.
    webhook_retention_days: int = Field(default=30, ge=1)
    # False: never ask DNS; host names are checked again, and refused, only at send time.
    webhook_resolve_dns: bool = True

    # Requests per minute per account and key mode, given to accounts when they are created (0: unlimited).
    default_rate_limit: int = Field(default=DEFAULT_RATE_LIMIT, ge=0, le=MAX_RATE_LIMIT)
    # Requests per minute per client address that carry no valid API key (0: unlimited).
    invalid_key_rate_limit: int = Field(default=DEFAULT_RATE_LIMIT, ge=0, le=MAX_RATE_LIMIT)
    # One rate-limiter call (connect, send, answer) may take this long; a slower Redis is treated as
    # down and the limiter fails open, so it never slows every request down with it.
    rate_limit_timeout_ms: int = Field(default=100, ge=1, le=10_000)
    # GET /v1/orders?updated_after= serves only changes older than this, so that a change whose
    # transaction has not committed yet cannot fall behind a sync window that already closed.
    orders_sync_settle_s: int = Field(default=2, ge=0, le=3600)

    # Request bodies over this many bytes are refused with 413 body_too_large before any parsing.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Webhook host names are looked up in their own small thread pool, each lookup for at most this long.
    dns_timeout_s: float = Field(default=2.0, gt=0, le=30)

    log_level: str = "INFO"
    # uvicorn's line per request (at INFO): off by default, it costs a share of every fast request.
    access_log: bool = False
    # "text" (one readable line per record) or "json" (one JSON object a line, for log shippers).
    log_format: str = Field(default="text", pattern=r"^(text|json)$")

    @field_validator("webhook_retry_schedule_s", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """ORDERATLAS_WEBHOOK_RETRY_SCHEDULE_S=5,10,15 or a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [part.strip() for part in text.split(",") if part.strip()]
            )
        return value

    @model_validator(mode="after")
    def _topup_bounds(self) -> "Settings":
        if self.topup_min_credits > self.topup_max_credits:
            raise ValueError("ORDERATLAS_TOPUP_MIN_CREDITS must not exceed ORDERATLAS_TOPUP_MAX_CREDITS")
        return self

    @field_validator("worker_sweep_every_s")
    @classmethod
    def _sweep_divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("ORDERATLAS_WORKER_SWEEP_EVERY_S must divide 60 (1, 2, 3, 4, 5, 6, 10, 15 ...)")
        return value

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> "Settings":
        if self.webhook_lease_s <= self.webhook_timeout_s:
            raise ValueError("ORDERATLAS_WEBHOOK_LEASE_S must be longer than ORDERATLAS_WEBHOOK_TIMEOUT_S")
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", value):
            raise ValueError("ORDERATLAS_PUBLIC_URL must be an http(s) URL such as https://api.example.com")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_32_bytes(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                key = base64.urlsafe_b64decode(value.encode())
            except ValueError:
                key = b""
            if len(key) != 32:
                raise ValueError("ORDERATLAS_SECRET_KEY must be urlsafe base64 of exactly 32 bytes")
        return value


settings = Settings()
