"""HTTP for /v1/api-keys."""

import uuid

from fastapi import APIRouter, Request

from orderatlas.api_keys import service
from orderatlas.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyUpdate
from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.kit.pagination import PageDep
from orderatlas.kit.time import iso_z
from orderatlas.models import ApiKey as ApiKeyRow

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _key(row: ApiKeyRow, email: str) -> ApiKey:
    return ApiKey(
        id=str(row.id),
        key_prefix=row.key_prefix,
        name=row.name,
        email=email,
        mode=row.mode,  # type: ignore[arg-type]
        active=row.active,
        created_at=iso_z(row.created_at),
        webhook_url=row.webhook_url or "",
        discord_webhook_url=row.discord_webhook_url or "",
        convert_tracking=row.convert_tracking,
    )


@router.get("", response_model=ApiKeyList, responses=error_responses())
async def list_keys(session: SessionDep, principal: PrincipalDep, page: PageDep) -> ApiKeyList:
    rows, total = await service.page(session, principal.account.id, page.limit, page.offset)
    return ApiKeyList(api_keys=[_key(row, principal.account.email) for row in rows], total=total)


# Not @idempotent on purpose: a stored response would keep the plaintext key, and only its hash may be kept.
@router.post("", response_model=ApiKeyCreated, responses=error_responses(403, 409))
async def create_key(
    body: ApiKeyCreate, request: Request, session: SessionDep, principal: PrincipalDep
) -> ApiKeyCreated:
    issued = await service.create(
        session, principal.account.id, principal.api_key.mode, body, request.app.state.settings
    )
    shown = _key(issued.api_key, principal.account.email)
    return ApiKeyCreated(**shown.model_dump(), api_key=issued.plaintext)


@router.patch("/{key_id}", response_model=ApiKey, responses=error_responses(403, 404))
async def update_key(
    key_id: uuid.UUID, body: ApiKeyUpdate, request: Request, session: SessionDep, principal: PrincipalDep
) -> ApiKey:
    row = await service.update(
        session, principal.account.id, principal.api_key.mode, key_id, body, request.app.state.settings
    )
    return _key(row, principal.account.email)


@router.delete("/{key_id}", response_model=ApiKey, responses=error_responses(403, 404, 409))
async def revoke_key(key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ApiKey:
    revoked = await service.revoke(session, principal.account.id, principal.api_key.mode, key_id)
    return _key(revoked, principal.account.email)
