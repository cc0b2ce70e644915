"""The X-API-Key dependency: every /v1 route knows its account and key, or answers 401.

It is also where every authenticated request is counted against the rate limit (auth/ratelimit.py):
the account's limit per key mode, or, for a missing or unknown key, a limit per client address.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from orderatlas.accounts.repository import active_key_by_hash
from orderatlas.auth.ratelimit import (
    DECISION_STATE,
    Decision,
    RateLimited,
    RateLimiter,
    account_keys,
    address_key,
)
from orderatlas.db import SessionDep
from orderatlas.errors import OrderAtlasError, Unauthorized
from orderatlas.kit.crypto import sha256_hex
from orderatlas.models import Account, ApiKey
from orderatlas.observability import context

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="oatl_live_... or oatl_test_..."
)


@dataclass(frozen=True, slots=True)
class Caller:
    """What a request knows of its account: read with the key, in the same statement."""

    id: uuid.UUID
    email: str
    rate_limit: int
    credit_balance: int
    test_credit_balance: int
    webhook_url: str | None
    discord_webhook_url: str | None


@dataclass(frozen=True, slots=True)
class CallerKey:
    id: uuid.UUID
    mode: str
    webhook_url: str | None
    discord_webhook_url: str | None

    @property
    def is_test(self) -> bool:
        return self.mode == "test"


@dataclass(frozen=True)
class Principal:
    """The caller. Routes read the account's id, email and rate limit and the key's id and mode;
    an Account and ApiKey row serve as well (scripts and tests build it from those)."""

    account: Caller | Account
    api_key: CallerKey | ApiKey

    @property
    def test_mode(self) -> bool:
        return self.api_key.is_test

    @property
    def balance_at_authentication(self) -> int:
        """The key's mode's balance as the request began: for reads, never for a decision."""
        account = self.account
        return account.test_credit_balance if self.test_mode else account.credit_balance

    @property
    def webhook_targets(self) -> tuple[str | None, str | None, str | None, str | None]:
        """Where this caller's order events go (webhooks.service.emit_order_event's targets)."""
        account, key = self.account, self.api_key
        if isinstance(account, Account):  # a row: both modes' targets; a Caller holds its mode's only
            url = getattr(account, account.webhook_column("webhook_url", self.test_mode))
            discord = getattr(account, account.webhook_column("discord_webhook_url", self.test_mode))
            return url, discord, key.webhook_url, key.discord_webhook_url
        return account.webhook_url, account.discord_webhook_url, key.webhook_url, key.discord_webhook_url


def _address_window(request: Request) -> tuple[str, int]:
    address = request.client.host if request.client else "unknown"
    return address_key(address), request.app.state.settings.invalid_key_rate_limit


async def _count(
    request: Request,
    window_key: str,
    limit: int,
    calls_key: str | None = None,
    guard: tuple[str, int] | None = None,
) -> None:
    limiter: RateLimiter = request.app.state.limiter
    decision = await limiter.hit(window_key, limit, calls_key, guard)
    setattr(request.state, DECISION_STATE, decision)
    if decision is not None and not decision.admitted:
        raise RateLimited(decision)


async def _refuse(request: Request, message: str) -> Unauthorized:
    """Keys cannot be guessed at speed: failed attempts are limited per client address."""
    await _count(request, *_address_window(request))
    return Unauthorized(message)


async def authenticate(
    request: Request, session: SessionDep, api_key: Annotated[str | None, Security(_api_key_header)] = None
) -> Principal:
    if not api_key:
        raise await _refuse(request, "missing API key: send it in the X-API-Key header")
    found = await active_key_by_hash(session, sha256_hex(api_key.strip()))
    if found is None:
        raise await _refuse(request, "invalid API key")
    account = Caller(
        found.account_id,
        found.email,
        found.rate_limit,
        found.credit_balance,
        found.test_credit_balance,
        found.webhook_url,
        found.discord_webhook_url,
    )
    key = CallerKey(found.key_id, found.mode, found.key_webhook_url, found.key_discord_webhook_url)
    principal = Principal(account=account, api_key=key)
    context.bind(account_id=principal.account.id)
    # Each key mode has its own window: a test suite hammering the sandbox never throttles live traffic.
    window_key, calls_key = account_keys(principal.account.id, principal.api_key.mode)
    # While its address is over the bad-key limit a valid key is refused too (in the same script
    # call): a guesser must not learn which guess was right from a 200 among the 429s.
    await _count(request, window_key, principal.account.rate_limit, calls_key, _address_window(request))
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def rate_limit_decision(request: Request) -> Decision | None:
    """What the limiter decided for this request; None when Redis was unavailable."""
    return getattr(request.state, DECISION_STATE, None)


class LiveKeyRequired(OrderAtlasError):
    status_code = 403
    code = "live_key_required"


def require_live_key(principal: Principal, what: str) -> None:
    """Test keys end up on development boxes: they must not change what live traffic depends on."""
    if principal.test_mode:
        raise LiveKeyRequired(f"an oatl_test_ key cannot {what}; use an oatl_live_ key")
