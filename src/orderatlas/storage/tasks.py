"""arq jobs for kept copies."""

import logging
from typing import Any

from orderatlas.db import unit_of_work
from orderatlas.models.base import utcnow

log = logging.getLogger(__name__)


async def purge_expired_copies(ctx: dict[str, Any]) -> int:
    """Hourly: delete copies past their expiry (they are already not served)."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        purged = await ctx["copies"].purge_expired(session, utcnow())
    log.info("purged %d expired page copies", purged)
    return int(purged)
