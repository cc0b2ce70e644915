"""arq jobs for orders: thin wrappers that open units of work and call the service."""

import logging
import uuid
from typing import Any

from arq import Retry

from orderatlas.db import unit_of_work
from orderatlas.kit.crypto import unseal
from orderatlas.orders import service
from orderatlas.orders.checkout import Secrets, reconcile, run_checkout
from orderatlas.retailers.base import Credentials, PaymentCard, Proxy

log = logging.getLogger(__name__)

RECONCILE_DELAY_S = 5


def _secrets(sealed: str, order_id: uuid.UUID, email: str, secret_key: str) -> Secrets:
    raw = unseal(sealed, secret_key, context=str(order_id))
    card = raw.get("card")
    return Secrets(
        credentials=Credentials(email=email, password=raw["password"], totp_secret=raw.get("totp_secret")),
        proxy=Proxy.parse(raw["proxy"]) if raw.get("proxy") else None,
        card=PaymentCard(**card) if card else None,
    )


async def checkout_order(ctx: dict[str, Any], order_id: str, sealed: str) -> None:
    """Run one order's checkout. Safe to run twice: the order's state decides what happens."""
    oid = uuid.UUID(order_id)
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        claim = await service.claim_checkout(session, oid)
    if claim is None:
        log.info("order %s is not awaiting checkout; nothing to do", order_id)
        return
    secrets = _secrets(sealed, oid, claim.plan.account_email, ctx["settings"].secret_key)
    adapter = ctx["retailers"].get(claim.retailer)
    try:
        if claim.resumed:
            outcome = await reconcile(adapter, claim.plan, secrets)
        else:
            outcome = await run_checkout(adapter, claim.plan, secrets)
    except Exception as exc:
        # We cannot know whether the retailer placed it: the re-run finds the order processing
        # and reconciles against the retailer's order history instead of buying again.
        log.exception("checkout of order %s raised; it will be reconciled", order_id)
        raise Retry(defer=RECONCILE_DELAY_S) from exc
    async with unit_of_work(ctx["sessionmaker"], ctx["redis"]) as session:
        await service.record_outcome(session, oid, outcome)
    log.info("order %s checkout finished: %s", order_id, outcome.status)
