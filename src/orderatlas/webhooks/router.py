"""HTTP for /v1/webhooks: the delivery log, and redelivery."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.db import SessionDep
from orderatlas.errors import error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.pagination import PageDep
from orderatlas.kit.time import iso_z
from orderatlas.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from orderatlas.models.webhook import PENDING
from orderatlas.webhooks import service
from orderatlas.webhooks.schemas import Attempt, Delivery, DeliveryList, EventName, Outcome

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _delivery(delivery: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt]) -> Delivery:
    return Delivery(
        id=str(delivery.id),
        event_id=str(event.id),
        event=event.event,
        order_id=str(event.order_id or ""),
        target=delivery.target,  # type: ignore[arg-type]
        url=delivery.url,
        outcome=delivery.state,  # type: ignore[arg-type]
        attempt_count=delivery.attempts,
        next_attempt_at=iso_z(delivery.next_attempt_at) if delivery.state == PENDING else "",
        delivered_at=iso_z(delivery.delivered_at),
        created_at=iso_z(delivery.created_at),
        payload=event.payload,
        attempts=[
            Attempt(
                number=a.number,
                attempted_at=iso_z(a.attempted_at),
                response_status=a.response_status,
                duration_ms=a.duration_ms,
                response_body=a.response_body,
                error=a.error,
            )
            for a in attempts
        ],
    )


@router.get("/deliveries", response_model=DeliveryList, responses=error_responses())
async def list_deliveries(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    order_id: Annotated[uuid.UUID | None, Query()] = None,
    event: Annotated[EventName | None, Query()] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
) -> DeliveryList:
    rows, total = await service.deliveries(
        session,
        principal.account.id,
        not principal.test_mode,
        limit=page.limit,
        offset=page.offset,
        order_id=order_id,
        event=event,
        outcome=outcome,
    )
    return DeliveryList(deliveries=[_delivery(*row) for row in rows], total=total)


@router.get("/deliveries/{delivery_id}", response_model=Delivery, responses=error_responses(404))
async def get_delivery(delivery_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Delivery:
    livemode = not principal.test_mode
    return _delivery(*await service.get_delivery(session, principal.account.id, livemode, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/redeliver", response_model=Delivery, responses=error_responses(404, 409, 422)
)
@idempotent
async def redeliver(delivery_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Delivery:
    livemode = not principal.test_mode
    await service.redeliver(session, principal.account.id, livemode, delivery_id)
    return _delivery(*await service.get_delivery(session, principal.account.id, livemode, delivery_id))
