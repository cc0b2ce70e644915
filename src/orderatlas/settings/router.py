"""HTTP for /v1/settings."""

from typing import Annotated

from fastapi import APIRouter, Body, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.models import Account
from orderatlas.models.account import WEBHOOK_SETTINGS
from orderatlas.settings import service
from orderatlas.settings.schemas import (
    SHIP_FROM_FIELDS,
    AccountSettings,
    RotatedSecret,
    SecretRotation,
    SettingsUpdate,
)
from orderatlas.webhooks.signing import standard_webhooks_secret

router = APIRouter(prefix="/v1/settings", tags=["settings"])


def _settings(account: Account, test_mode: bool) -> AccountSettings:
    """The webhook targets, the secret and credit_balance are the caller key's mode's: a test key
    never sees (or signs with) anything of live mode."""
    url, discord, secret = (getattr(account, account.webhook_column(n, test_mode)) for n in WEBHOOK_SETTINGS)
    return AccountSettings(
        convert_tracking=account.convert_tracking,
        webhook_url=url or "",
        discord_webhook_url=discord or "",
        webhook_secret=secret,
        standard_webhooks_secret=standard_webhooks_secret(secret),
        rate_limit=account.rate_limit,
        credit_balance=account.test_credit_balance if test_mode else account.credit_balance,
        email=account.email,
        ship_from_required=service.ship_from_required(account),
        **{name: getattr(account, name) or "" for name in SHIP_FROM_FIELDS},
    )


@router.get("", response_model=AccountSettings, responses=error_responses())
async def get_settings(session: SessionDep, principal: PrincipalDep) -> AccountSettings:
    return _settings(await service.load(session, principal.account.id), principal.test_mode)


@router.put("", response_model=AccountSettings, responses=error_responses(403))
async def update_settings(
    body: SettingsUpdate, request: Request, session: SessionDep, principal: PrincipalDep
) -> AccountSettings:
    account = await service.update(
        session, principal.account.id, principal.test_mode, body, request.app.state.settings
    )
    return _settings(account, principal.test_mode)


# Not @idempotent on purpose: a stored response would keep a copy of the new secret for a day.
@router.post("/rotate-webhook-secret", response_model=RotatedSecret, responses=error_responses(403))
async def rotate_webhook_secret(
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[SecretRotation | None, Body()] = None,
) -> RotatedSecret:
    secret = await service.rotate_secret(
        session, principal.account.id, principal.test_mode, body.webhook_secret if body else None
    )
    return RotatedSecret(webhook_secret=secret)
