"""Response models for /v1/webhooks."""

from typing import Any, Literal

from pydantic import BaseModel

Outcome = Literal["pending", "delivered", "failed"]
EventName = Literal["order.created", "order.status_changed", "tracking.converted", "aqualine.skipped"]


class Attempt(BaseModel):
    number: int
    attempted_at: str
    response_status: int  # 0: no response
    duration_ms: int
    response_body: str  # the first 1000 characters
    error: str


class Delivery(BaseModel):
    id: str
    event_id: str  # the webhook-id header: the same on every retry and redelivery
    event: str
    order_id: str
    target: Literal["webhook", "discord"]
    url: str
    outcome: Outcome
    attempt_count: int
    next_attempt_at: str  # "" once delivered or failed
    delivered_at: str
    created_at: str
    payload: dict[str, Any]
    attempts: list[Attempt]


class DeliveryList(BaseModel):
    deliveries: list[Delivery]
    total: int
