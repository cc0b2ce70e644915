"""GET /v1/orders rules: the filters, keyset pages, and the signed next_token that carries a walk.

A walk goes one of two ways (docs/orders-list.md):
- Without updated_after: newest first by (created_at, id). Neither ever changes, so a walk returns
  each order that existed when it began exactly once; orders placed meanwhile are newer than its
  first page and belong to the next walk.
- With updated_after: a sync window, oldest change first by (updated_at, id), over
  updated_after <= updated_at < updated_before. updated_before is fixed when the walk begins, a few
  seconds in the past and before the oldest transaction still writing, so that no change still
  being committed can land behind it, and travels in
  the token: an order that changes during the walk moves past it into the next window instead of
  showing up twice in this one, and the next window starts exactly where this one ended.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderatlas.auth.dependencies import Principal
from orderatlas.errors import BadRequest
from orderatlas.kit import cursor
from orderatlas.kit.metadata import MAX_KEY_CHARS, MAX_KEYS, MAX_VALUE_CHARS
from orderatlas.kit.schemas import storable
from orderatlas.kit.time import parse_iso
from orderatlas.models import Order
from orderatlas.models.base import utcnow
from orderatlas.orders import repository
from orderatlas.orders.filters import Filters, Position
from orderatlas.orders.schemas import MAX_EXTERNAL_ORDER_ID
from orderatlas.orders.statuses import ALL_STATUSES
from orderatlas.retailers.marketplaces import MARKETPLACES

MAX_LIMIT = 100
DEFAULT_LIMIT = 100
MAX_STATUSES = len(ALL_STATUSES)
EXPANDABLE = frozenset({"items"})
TOKEN_PURPOSE = "orders.next_token.v1"


@dataclass(frozen=True)
class OrdersPage:
    orders: list[tuple[Order, list[dict[str, Any]] | None]]
    next_token: str
    updated_before: datetime | None


class InvalidNextToken(BadRequest):
    code = "invalid_next_token"


def _moment(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = parse_iso(text) if storable(text) else None
    if moment is None:
        raise BadRequest(
            f"{name} must be an ISO 8601 date or time, e.g. 2026-03-25T14:30:00Z", code="invalid_datetime"
        )
    return moment


def _statuses(values: list[str]) -> tuple[str, ...]:
    """status=shipped&status=delivered, or status=shipped,delivered as SP-API writes it."""
    wanted = sorted({part.strip() for value in values for part in value.split(",") if part.strip()})
    unknown = [status for status in wanted if status not in ALL_STATUSES]
    if unknown:
        raise BadRequest(
            f"unknown status {unknown[0][:40]!r}: use any of {', '.join(ALL_STATUSES)}", code="invalid_status"
        )
    return tuple(wanted)


def _metadata(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if len(pairs) > MAX_KEYS:
        raise BadRequest(f"at most {MAX_KEYS} metadata filters", code="invalid_metadata")
    for key, value in pairs:
        if not 1 <= len(key) <= MAX_KEY_CHARS or len(value) > MAX_VALUE_CHARS:
            raise BadRequest(
                f"metadata[key]=value: keys of 1 to {MAX_KEY_CHARS} characters, values of at most "
                f"{MAX_VALUE_CHARS}",
                code="invalid_metadata",
            )
        if not (storable(key) and storable(value)):
            raise BadRequest(
                "metadata must not contain NUL characters or unpaired surrogates", code="invalid_text"
            )
    return tuple(sorted(dict(pairs).items()))


def build_filters(
    *,
    statuses: list[str],
    platform: str | None,
    external_order_id: str | None,
    created_after: str | None,
    created_before: str | None,
    updated_after: str | None,
    metadata: list[tuple[str, str]],
) -> Filters:
    if platform is not None and platform not in MARKETPLACES:
        raise BadRequest(
            f"unknown platform {platform[:40]!r}: use one of {', '.join(MARKETPLACES)}",
            code="invalid_platform",
        )
    if external_order_id is not None and (
        len(external_order_id) > MAX_EXTERNAL_ORDER_ID or not storable(external_order_id)
    ):
        raise BadRequest(
            f"external_order_id must be at most {MAX_EXTERNAL_ORDER_ID} characters of text",
            code="invalid_external_order_id",
        )
    filters = Filters(
        statuses=_statuses(statuses),
        platform=platform,
        external_order_id=external_order_id,
        created_after=_moment("created_after", created_after),
        created_before=_moment("created_before", created_before),
        updated_after=_moment("updated_after", updated_after),
        metadata=_metadata(metadata),
    )
    if filters.created_after and filters.created_before and filters.created_after > filters.created_before:
        raise BadRequest("created_after must not be later than created_before", code="invalid_datetime")
    return filters


def check_expand(values: list[str]) -> bool:
    """expand=items; True when the line items are wanted."""
    wanted = {part.strip() for value in values for part in value.split(",") if part.strip()}
    if not wanted <= EXPANDABLE:
        raise BadRequest(f"expand accepts only: {', '.join(sorted(EXPANDABLE))}", code="invalid_expand")
    return "items" in wanted


def _scope(principal: Principal) -> str:
    return f"{principal.account.id}:{principal.api_key.mode}"


def _token(
    principal: Principal, secret_key: str, filters: Filters, after: Position, until: datetime | None
) -> str:
    payload = {
        "f": filters.to_json(),
        "a": [after.at.isoformat(), str(after.id)],
        "u": until.isoformat() if until else None,
    }
    return cursor.sign(payload, secret_key=secret_key, purpose=TOKEN_PURPOSE, scope=_scope(principal))


def _read_token(
    principal: Principal, secret_key: str, token: str
) -> tuple[Filters, Position, datetime | None]:
    payload = cursor.verify(token, secret_key=secret_key, purpose=TOKEN_PURPOSE, scope=_scope(principal))
    if payload is None:
        raise InvalidNextToken("next_token is not one this API issued to this key's account and mode")
    try:
        at, order_id = payload["a"]
        until = datetime.fromisoformat(payload["u"]) if payload["u"] else None
        return (
            Filters.from_json(payload["f"]),
            Position(datetime.fromisoformat(at), uuid.UUID(order_id)),
            until,
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidNextToken("next_token is malformed") from None


async def _window_end(session: AsyncSession, filters: Filters, settle_s: int) -> datetime | None:
    """Before any change that is still being committed: the settle time before now, and before the
    oldest open transaction that has written (its changes carry a later updated_at but appear only
    when it commits, maybe after this window was handed out). Whole seconds, so updated_before reads
    back exactly in the API's timestamp format."""
    if filters.updated_after is None:
        return None
    end = utcnow()
    oldest = await repository.oldest_open_write(session)
    if oldest is not None:
        end = min(end, oldest)
    end = (end - timedelta(seconds=settle_s)).replace(microsecond=0)
    return max(end, filters.updated_after)  # a window never ends before it starts


async def list_orders(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    *,
    next_token: str | None,
    limit: int,
    with_items: bool,
    secret_key: str,
    settle_s: int,
) -> OrdersPage:
    after: Position | None = None
    if next_token:
        token_filters, after, until = _read_token(principal, secret_key, next_token)
        if filters != Filters() and filters != token_filters:
            raise InvalidNextToken("next_token belongs to other filters: send the same filters, or none")
        filters = token_filters
    else:
        until = await _window_end(session, filters, settle_s)
    rows = await repository.list_page(
        session,
        principal.account.id,
        principal.test_mode,
        filters,
        after=after,
        until=until,
        limit=limit + 1,  # one more than asked says whether there is a next page
        with_items=with_items,
    )
    token = ""
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        last_at = last.updated_at if filters.is_sync else last.created_at
        token = _token(principal, secret_key, filters, Position(last_at, last.id), until)
    return OrdersPage(rows, token, until)
