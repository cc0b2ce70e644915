"""Settings rules: partial updates, checked webhook targets, and secret rotation."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import LiveKeyRequired
from orderatlas.config import Settings
from orderatlas.db import release_connection
from orderatlas.errors import NotFound
from orderatlas.models import Account
from orderatlas.models.account import WEBHOOK_SETTINGS, new_webhook_secret
from orderatlas.settings.schemas import SHIP_FROM_FIELDS, SettingsUpdate
from orderatlas.webhooks.targets import check_discord_url, check_webhook_url


async def load(session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False) -> Account:
    account = await session.get(Account, account_id, with_for_update=for_update, populate_existing=True)
    if account is None:
        raise NotFound("account not found")
    return account


async def checked_urls(
    session: AsyncSession, changes: dict[str, str | None], settings: Settings
) -> dict[str, str | None]:
    """webhook_url and discord_webhook_url as they will be stored: "" and null clear them.

    Call it before any write: a host name is looked up in DNS, which may take up to
    ORDERATLAS_DNS_TIMEOUT_S, and the pooled connection the request has read with so far is given
    back for that time, so slow lookups can never exhaust the pool for everyone else."""
    checked: dict[str, str | None] = {}
    if "webhook_url" in changes:
        url = (changes["webhook_url"] or "").strip()
        if url and settings.webhook_resolve_dns:
            await release_connection(session)
        checked["webhook_url"] = (
            await check_webhook_url(
                url,
                allow_private=settings.webhook_allow_private_networks,
                use_dns=settings.webhook_resolve_dns,
                timeout_s=settings.dns_timeout_s,
            )
            if url
            else None
        )
    if "discord_webhook_url" in changes:
        url = (changes["discord_webhook_url"] or "").strip()
        checked["discord_webhook_url"] = check_discord_url(url) if url else None
    return checked


async def update(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, data: SettingsUpdate, settings: Settings
) -> Account:
    """A test key changes its mode's webhook targets and nothing else: the rest is shared with live."""
    changes = data.model_dump(exclude_unset=True)
    shared = sorted(name for name in changes if name not in WEBHOOK_SETTINGS)
    if test_mode and shared:
        raise LiveKeyRequired(
            f"an oatl_test_ key can change only webhook_url and discord_webhook_url (of test mode), "
            f"not {', '.join(shared)}; use an oatl_live_ key"
        )
    urls = await checked_urls(session, changes, settings)  # before any write: a bad URL changes nothing
    account = await load(session, account_id, for_update=True)
    for name, value in urls.items():
        setattr(account, account.webhook_column(name, test_mode), value)
    for name in SHIP_FROM_FIELDS:
        if name in changes:
            setattr(account, name, (changes[name] or "").strip() or None)
    if changes.get("convert_tracking") is not None:
        account.convert_tracking = changes["convert_tracking"]
    return account


async def rotate_secret(
    session: AsyncSession, account_id: uuid.UUID, test_mode: bool, custom: str | None
) -> str:
    """The mode's old secret stops signing at once: deliveries are signed when sent, not when queued."""
    account = await load(session, account_id, for_update=True)
    column = account.webhook_column("webhook_secret", test_mode)
    setattr(account, column, custom if custom is not None else new_webhook_secret())
    return str(getattr(account, column))


def ship_from_required(account: Account) -> bool:
    """True while tracking conversion is on and no ship-from address is set."""
    return account.convert_tracking and not any(getattr(account, name) for name in SHIP_FROM_FIELDS)
