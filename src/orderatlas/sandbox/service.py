"""Rules for reading the sandbox's purchase history."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.errors import OrderAtlasError
from orderatlas.kit.pagination import Page
from orderatlas.models import SandboxPurchase
from orderatlas.sandbox import repository


class SandboxOnly(OrderAtlasError):
    status_code = 403
    code = "test_key_required"


async def purchases(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID | None, page: Page
) -> tuple[list[SandboxPurchase], int]:
    """Purchases the sandbox made for this account's orders. Orders that were deleted drop out."""
    if not principal.test_mode:
        raise SandboxOnly("the sandbox purchase history is only available to oatl_test_ keys")
    return await repository.list_for_account(session, principal.account.id, order_id, page.limit, page.offset)
