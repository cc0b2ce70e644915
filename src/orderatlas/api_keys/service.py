"""API key rules: at most MAX_ACTIVE_KEYS live at once, never revoke the last one, checked overrides."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.accounts.service import IssuedKey, issue_key
from orderatlas.api_keys import repository
from orderatlas.api_keys.schemas import ApiKeyCreate, ApiKeyUpdate
from orderatlas.auth.dependencies import LiveKeyRequired
from orderatlas.config import Settings
from orderatlas.errors import Conflict, NotFound
from orderatlas.models import ApiKey
from orderatlas.settings.service import checked_urls, load

MAX_ACTIVE_KEYS = 50


def _may_manage(caller_mode: str, target_mode: str) -> None:
    """A test key is often handed to a development box: it must not mint or change live keys."""
    if caller_mode == "test" and target_mode == "live":
        raise LiveKeyRequired("an oatl_test_ key can only manage oatl_test_ keys")


async def create(
    session: AsyncSession, account_id: uuid.UUID, caller_mode: str, data: ApiKeyCreate, settings: Settings
) -> IssuedKey:
    _may_manage(caller_mode, data.mode)
    urls = await checked_urls(session, data.model_dump(exclude_unset=True), settings)
    account = await load(session, account_id, for_update=True)  # serialises concurrent creations
    if await repository.count_active(session, account_id) >= MAX_ACTIVE_KEYS:
        raise Conflict(f"an account can hold at most {MAX_ACTIVE_KEYS} active keys", code="too_many_keys")
    issued = issue_key(session, account, data.mode, data.name)
    issued.api_key.webhook_url = urls.get("webhook_url")
    issued.api_key.discord_webhook_url = urls.get("discord_webhook_url")
    await session.flush()
    await session.refresh(issued.api_key)
    return issued


async def update(
    session: AsyncSession,
    account_id: uuid.UUID,
    caller_mode: str,
    key_id: uuid.UUID,
    data: ApiKeyUpdate,
    settings: Settings,
) -> ApiKey:
    changes = data.model_dump(exclude_unset=True)
    urls = await checked_urls(session, changes, settings)
    key = await _locked(session, account_id, key_id)
    _may_manage(caller_mode, key.mode)
    for name, value in urls.items():
        setattr(key, name, value)
    if changes.get("name") is not None:
        key.name = changes["name"]
    if "convert_tracking" in changes:  # "" and null clear the override: the account's setting applies
        value = changes["convert_tracking"]
        key.convert_tracking = value if isinstance(value, bool) else None
    return key


async def revoke(session: AsyncSession, account_id: uuid.UUID, caller_mode: str, key_id: uuid.UUID) -> ApiKey:
    """Revoked keys get 401 from the next request on."""
    await load(session, account_id, for_update=True)  # two revocations cannot both see "not the last"
    key = await _locked(session, account_id, key_id)
    _may_manage(caller_mode, key.mode)
    if key.active and await repository.count_active(session, account_id) <= 1:
        raise Conflict("cannot revoke the account's last active key", code="last_active_key")
    key.active = False
    return key


async def page(
    session: AsyncSession, account_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    return await repository.page(session, account_id, limit, offset)


async def _locked(session: AsyncSession, account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = await repository.lock(session, account_id, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key
