"""HTTP for POST /v1/order/:order_id/convert and /drop-conversion."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.conversion import service
from orderatlas.conversion.schemas import ConversionDropped, ConversionResult
from orderatlas.db import SessionDep
from orderatlas.errors import error_body, error_responses
from orderatlas.models import Order
from orderatlas.models.base import utcnow

router = APIRouter(prefix="/v1/order", tags=["tracking conversion"])

DROPPED_MESSAGE = (
    "Aquiline conversion dropped — order is ready to be re-converted. The dropped label will keep "
    "refreshing until it reaches delivered/cancelled (per Aquiline TOS)."
)


def _named(order: Order, reference: str) -> str:
    return order.platform_order_id if reference == order.platform_order_id else str(order.id)


@router.post(
    "/{order_id}/convert",
    response_model=ConversionResult,
    responses=error_responses(402, 404, 409, 422, 502, 503),
)
async def convert(order_id: str, request: Request, session: SessionDep, principal: PrincipalDep) -> object:
    """Mint an Aquiline tracking number for the order. Costs `tracking_conversion` credits (1),
    charged only when a label is minted. AmazonUS/CA/UK/DE/FR/IT/ES/IN only."""
    state = request.app.state
    done = await service.convert(
        session, principal, order_id, provider_for=state.providers.for_order, settings=state.settings
    )
    if done.failure is not None:
        # Answered without raising, so the attempt is kept (nothing was charged).
        return JSONResponse(error_body(done.failure.message, service.ConversionFailed.code), status_code=502)
    return ConversionResult(
        order_id=_named(done.order, order_id),
        tracking_number=done.order.tracking_number or "",
        aqualine_tracking=done.order.aqualine_tracking or "",
        carrier=done.order.carrier or "",
        message="tracking converted successfully",
    )


@router.post(
    "/{order_id}/drop-conversion", response_model=ConversionDropped, responses=error_responses(404, 409)
)
async def drop_conversion(
    order_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> ConversionDropped:
    """Detach the order's Aquiline tracking (kept in dropped_aqualine_tracking) so it can be
    converted again. Credits are not refunded."""
    interval_s = request.app.state.settings.conversion_poll_s
    order, number = await service.drop(session, principal, order_id, now=utcnow(), interval_s=interval_s)
    return ConversionDropped(
        order_id=_named(order, order_id), dropped_aqualine=number, message=DROPPED_MESSAGE
    )
