"""HTTP for /v1/billing: balance, transactions, Stripe Checkout top-ups and Stripe's webhook."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from orderatlas.auth.dependencies import PrincipalDep
from orderatlas.billing import service, stripe_events, topups
from orderatlas.billing.schemas import (
    Balance,
    Costs,
    TopupCreate,
    TopupCreated,
    Transaction,
    TransactionList,
    TransactionType,
    WebhookReceived,
)
from orderatlas.billing.stripe_api import verify_event
from orderatlas.db import SessionDep, release_connection
from orderatlas.errors import ErrorBody, error_responses
from orderatlas.idempotency.decorator import idempotent
from orderatlas.kit.pagination import PageDep
from orderatlas.kit.time import iso_z

router = APIRouter(prefix="/v1/billing", tags=["billing"])


def _utc(moment: datetime | None) -> datetime | None:
    """A timestamp without an offset is UTC, like every timestamp the API writes."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@router.get("/balance", response_model=Balance, responses=error_responses())
async def get_balance(request: Request, session: SessionDep, principal: PrincipalDep) -> Balance:
    found = await service.balance(session, principal.account.id, test_mode=principal.test_mode)
    return Balance(
        credit_balance=found.credit_balance,
        costs=Costs(**vars(service.costs(request.app.state.settings))),
        credits_owed=found.credits_owed,
        mode=principal.api_key.mode,  # type: ignore[arg-type]
    )


@router.get("/transactions", response_model=TransactionList, responses=error_responses())
async def list_transactions(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    starting_after: Annotated[
        uuid.UUID | None, Query(description="A transaction id: the page starts with the one after it.")
    ] = None,
    type: Annotated[TransactionType | None, Query()] = None,
    created_after: Annotated[datetime | None, Query(description="Only rows created strictly after.")] = None,
    created_before: Annotated[
        datetime | None, Query(description="Only rows created strictly before.")
    ] = None,
) -> TransactionList:
    found = await service.history(
        session,
        principal.account.id,
        test_mode=principal.test_mode,
        type_=type,
        created_after=_utc(created_after),
        created_before=_utc(created_before),
        starting_after=starting_after,
        limit=page.limit,
        offset=page.offset,
    )
    return TransactionList(
        transactions=[
            Transaction(
                id=str(row.id),
                amount=row.amount,
                type=row.type,  # type: ignore[arg-type]
                description=description,
                order_id=str(row.order_id or ""),
                created_at=iso_z(row.created_at),
            )
            for row, description in found.rows
        ],
        has_more=found.has_more,
        total=found.total,
    )


async def _opened_checkout(
    body: TopupCreate, request: Request, session: SessionDep, principal: PrincipalDep
) -> topups.OpenedCheckout:
    """Stripe is asked here, before the route claims its Idempotency-Key, with the connection that
    authenticated the caller back in the pool: a slow Stripe never holds a connection or a
    transaction. Stripe's own idempotency (the key and parameters derived from the client's key)
    keeps a retry, or a twin, on the one session."""
    await release_connection(session)
    return await topups.open_checkout(
        principal,
        body,
        request.app.state.stripe,
        request.app.state.settings,
        request.headers.get("Idempotency-Key"),
    )


OpenedCheckoutDep = Annotated[topups.OpenedCheckout, Depends(_opened_checkout)]


@router.post("/topup", response_model=TopupCreated, responses=error_responses(409, 422, 502, 503))
@idempotent
async def create_topup(
    opened: OpenedCheckoutDep, session: SessionDep, principal: PrincipalDep
) -> TopupCreated:
    topup = await topups.record_topup(session, principal, opened)
    return TopupCreated(checkout_url=opened.url, credits=topup.credits)


@router.post(
    "/stripe/webhook",
    response_model=WebhookReceived,
    responses={400: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    summary="Stripe's events (no API key: the Stripe-Signature header is checked instead)",
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookReceived:
    verified = verify_event(await request.body(), stripe_signature, request.app.state.settings)
    first, outcome = await stripe_events.handle_event(session, verified, request.app.state.settings)
    return WebhookReceived(duplicate=not first, outcome=outcome)
