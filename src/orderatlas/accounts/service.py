"""Creating accounts and issuing API keys."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.accounts import repository
from orderatlas.billing.service import adjust, grant
from orderatlas.config import DEFAULT_RATE_LIMIT, MAX_RATE_LIMIT
from orderatlas.errors import BadRequest, Conflict, NotFound
from orderatlas.kit.crypto import random_token, sha256_hex
from orderatlas.models import Account, ApiKey

KEY_PREFIXES = {"live": "oatl_live_", "test": "oatl_test_"}
KEY_RANDOM_CHARS = 40  # ~238 bits: a plain SHA-256 of the key is a safe thing to store
DISPLAY_PREFIX_CHARS = 11  # "oatl_live_a"


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


@dataclass(frozen=True)
class NewAccount:
    account: Account
    live_key: IssuedKey
    test_key: IssuedKey


def issue_key(session: AsyncSession, account: Account, mode: str, name: str = "") -> IssuedKey:
    plaintext = KEY_PREFIXES[mode] + random_token(KEY_RANDOM_CHARS)
    api_key = ApiKey(
        account_id=account.id,
        key_hash=sha256_hex(plaintext),
        key_prefix=plaintext[:DISPLAY_PREFIX_CHARS],
        mode=mode,
        name=name,
    )
    session.add(api_key)
    return IssuedKey(api_key, plaintext)


def _check_rate_limit(per_minute: int) -> int:
    if not 0 <= per_minute <= MAX_RATE_LIMIT:
        raise BadRequest(
            f"a rate limit is 0 (unlimited) to {MAX_RATE_LIMIT} requests per minute",
            code="invalid_rate_limit",
        )
    return per_minute


async def create_account(
    session: AsyncSession,
    email: str,
    *,
    credits: int,
    test_credits: int,
    rate_limit: int = DEFAULT_RATE_LIMIT,
) -> NewAccount:
    """`credits` are live (paid) credits; `test_credits` the separate test-mode balance's start;
    `rate_limit` requests per minute for each key mode (0: unlimited)."""
    if await repository.email_taken(session, email):
        raise Conflict(f"an account with email {email} already exists", code="email_taken")
    account = Account(
        email=email, credit_balance=0, test_credit_balance=0, rate_limit=_check_rate_limit(rate_limit)
    )
    session.add(account)
    await session.flush()
    if credits:
        await grant(session, account.id, credits, f"Initial grant of {credits} credits", test_mode=False)
    if test_credits:
        description = f"Test-mode starting credits: {test_credits}"
        await grant(session, account.id, test_credits, description, test_mode=True)
    live = issue_key(session, account, "live", "default live key")
    test = issue_key(session, account, "test", "default test key")
    await session.flush()
    await session.refresh(account)
    return NewAccount(account, live, test)


@dataclass(frozen=True)
class AccountView:
    account: Account
    keys: list[ApiKey]


async def find_account(session: AsyncSession, email: str) -> AccountView:
    account = await repository.account_by_email(session, email)
    if account is None:
        raise NotFound(f"no account with email {email}")
    return AccountView(account, await repository.keys_of(session, account.id))


async def credit_account(
    session: AsyncSession, email: str, amount: int, reason: str, *, test_mode: bool
) -> tuple[Account, int]:
    """An operator's adjustment row, up or down, never below zero. Returns the new balance."""
    account = await repository.account_by_email(session, email)
    if account is None:
        raise NotFound(f"no account with email {email}")
    if not reason.strip():
        raise BadRequest("a reason is required: it is the adjustment's description", code="missing_field")
    return account, await adjust(session, account.id, amount, reason.strip(), test_mode=test_mode)


async def set_rate_limit(session: AsyncSession, email: str, per_minute: int) -> Account:
    """Takes effect with the account's next request: every request reads the limit afresh."""
    account = await repository.account_by_email(session, email, for_update=True)
    if account is None:
        raise NotFound(f"no account with email {email}")
    account.rate_limit = _check_rate_limit(per_minute)
    return account
