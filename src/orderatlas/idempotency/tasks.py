"""arq jobs for idempotency keys."""

import logging
from typing import Any

from orderatlas.db import unit_of_work
from orderatlas.idempotency import service

log = logging.getLogger(__name__)


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Hourly: drop keys past their 24 hours (expired keys are already ignored when read)."""
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        purged = await service.purge_expired(session)
    log.info("purged %d expired idempotency keys", purged)
    return purged
