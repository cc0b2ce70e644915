"""Creating accounts and issuing API keys."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.accounts import repository
from orderatlas.billing.service import grant
from orderatlas.errors import Conflict
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


async def create_account(session: AsyncSession, email: str, credits: int = 0) -> NewAccount:
    if await repository.email_taken(session, email):
        raise Conflict(f"an account with email {email} already exists", code="email_taken")
    account = Account(email=email, credit_balance=0)
    session.add(account)
    await session.flush()
    if credits:
        await grant(session, account.id, credits, f"Initial grant of {credits} credits")
    live = issue_key(session, account, "live", "default live key")
    test = issue_key(session, account, "test", "default test key")
    await session.flush()
    await session.refresh(account)
    return NewAccount(account, live, test)
