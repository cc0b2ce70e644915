"""Turn pydantic validation errors into one readable message and a stable error code."""

from collections.abc import Sequence
from typing import Any

# Error types raised by our own validators (PydanticCustomError); they double as the API error code.
CUSTOM_CODES = frozenset(
    {
        "invalid_platform",
        "invalid_asin",
        "invalid_external_order_id",
        "invalid_metadata",
        "invalid_price",
        "invalid_proxy",
        "invalid_quantity",
        "invalid_text",
        "invalid_url",
        "invalid_webhook_url",
        "gifter_name_required",
        "missing_product",
        "invalid_platform_order_id",
        "invalid_delivery_photo_url",
    }
)


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        if part.isdigit():
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe_validation_error(errors: Sequence[Any]) -> tuple[str, str]:
    """Pick the first error; never echo the rejected input, it may be a password or a card number."""
    if not errors:
        return "invalid request", "invalid_request"
    first = errors[0]
    kind = first.get("type", "")
    where = _location(first.get("loc", ()))
    if kind in CUSTOM_CODES:
        return first.get("msg", kind), kind
    if kind == "missing":  # no location: the body itself is missing
        return (f"{where} is required" if where else "a JSON request body is required"), "missing_field"
    if kind == "json_invalid":
        return "request body is not valid JSON", "invalid_json"
    message = first.get("msg", "invalid value")
    return (f"{where}: {message}" if where else message), "invalid_request"
