"""The X-API-Key dependency: every /v1 route knows its account and key, or answers 401."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from orderatlas.accounts.repository import active_key_by_hash
from orderatlas.db import SessionDep
from orderatlas.errors import OrderAtlasError, Unauthorized
from orderatlas.kit.crypto import sha256_hex
from orderatlas.models import Account, ApiKey

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="oatl_live_... or oatl_test_..."
)


@dataclass(frozen=True)
class Principal:
    account: Account
    api_key: ApiKey

    @property
    def test_mode(self) -> bool:
        return self.api_key.is_test


async def authenticate(
    session: SessionDep, api_key: Annotated[str | None, Security(_api_key_header)] = None
) -> Principal:
    if not api_key:
        raise Unauthorized("missing API key: send it in the X-API-Key header")
    found = await active_key_by_hash(session, sha256_hex(api_key.strip()))
    if found is None:
        raise Unauthorized("invalid API key")
    return Principal(account=found[1], api_key=found[0])


PrincipalDep = Annotated[Principal, Depends(authenticate)]


class LiveKeyRequired(OrderAtlasError):
    status_code = 403
    code = "live_key_required"


def require_live_key(principal: Principal, what: str) -> None:
    """Test keys end up on development boxes: they must not change what live traffic depends on."""
    if principal.test_mode:
        raise LiveKeyRequired(f"an oatl_test_ key cannot {what}; use an oatl_live_ key")
