"""What a delivery carries: the reference's event payload, or a Discord embed of it."""

from datetime import datetime
from typing import Any

from orderatlas.kit.time import iso_z
from orderatlas.models import Order

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"
TRACKING_CONVERTED = "tracking.converted"
AQUALINE_SKIPPED = "aqualine.skipped"

GREEN, GOLD, RED, BLUE = 0x2ECC71, 0xF1C40F, 0xE74C3C, 0x3498DB
_COLOURS = {"delivered": GREEN, "shipped": GOLD, "out_for_delivery": GOLD, "cancelled": RED, "failed": RED}


def order_payload(
    event: str, order: Order, previous_status: str | None, at: datetime, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The reference's shape; optional fields are left out, never sent as null."""
    payload: dict[str, Any] = {
        "event": event,
        "order_id": str(order.id),
        "platform": order.platform,
        "platform_order_id": order.platform_order_id,
        "status": order.status,
        # Receivers must check it: a test-mode event never describes a real purchase.
        "livemode": not order.test_mode,
    }
    if event != ORDER_CREATED and previous_status is not None:
        payload["previous_status"] = previous_status
    for name in ("tracking_number", "carrier", "aqualine_tracking"):
        if getattr(order, name):
            payload[name] = getattr(order, name)
    # The client's own reference, so a receiver can match the event without a lookup.
    if order.external_order_id:
        payload["external_order_id"] = order.external_order_id
    if order.client_metadata:
        payload["metadata"] = dict(order.client_metadata)
    if order.status == "failed":
        payload["failure_reason_code"] = order.failure_reason_code
        payload["failure_reason"] = order.notes[-1] if order.notes else ""
        payload["logged_in"] = order.logged_in
        payload["asin"] = order.asin
    payload.update(extra or {})
    payload["timestamp"] = iso_z(at)
    return payload


def colour(status: str) -> int:
    return _COLOURS.get(status, BLUE)


def discord_embed(payload: dict[str, Any]) -> dict[str, Any]:
    status = str(payload.get("status", ""))
    fields = [
        {"name": name.replace("_", " ").capitalize(), "value": str(payload[name]), "inline": True}
        for name in (
            "order_id",
            "platform",
            "platform_order_id",
            "external_order_id",
            "previous_status",
            "tracking_number",
            "carrier",
            "aqualine_tracking",
            "failure_reason_code",
            "skip_reason",
        )
        if payload.get(name) not in (None, "")
    ]
    test_mode = payload.get("livemode") is False
    embed: dict[str, Any] = {
        "title": ("[test mode] " if test_mode else "") + f"{payload['event']}: {status}",
        "color": colour(status),
        "fields": fields,
        "timestamp": payload["timestamp"],
        "footer": {"text": "OrderAtlas · test mode" if test_mode else "OrderAtlas"},
    }
    if payload.get("failure_reason") or payload.get("skip_message"):
        embed["description"] = str(payload.get("failure_reason") or payload["skip_message"])[:2000]
    return {"username": "OrderAtlas", "embeds": [embed]}
