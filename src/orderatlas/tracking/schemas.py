"""Request and response models of the routes after checkout: import, status, tracking, delivered,
cancelled. Field for field as the reference names them."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from orderatlas.kit.metadata import Metadata
from orderatlas.kit.schemas import RequestModel
from orderatlas.orders.schemas import (
    AccountEmail,
    Address,
    ExternalOrderId,
    Password,
    Platform,
    ProxyText,
    TwoFactorSecret,
    Url2000,
)

_PLATFORM_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _platform_order_id(value: str) -> str:
    value = value.strip()
    if not _PLATFORM_ORDER_ID.match(value):
        raise PydanticCustomError(
            "invalid_platform_order_id",
            "platform_order_id must be 1 to 64 letters, digits, '.', '_' or '-', e.g. 112-4567890-1234567",
        )
    return value


def _photo_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not re.match(r"^https?://[^\s/]+\S*$", value.strip()):
        raise PydanticCustomError("invalid_delivery_photo_url", "delivery_photo_url must be an http(s) URL")
    return value.strip()


class RetailerLogin(RequestModel):
    """The retailer account to log in with. Used for this request only: never stored or logged."""

    model_config = ConfigDict(extra="ignore")

    account_email: AccountEmail
    account_password: Password
    account_2fa_secret: TwoFactorSecret | None = None
    proxy: ProxyText = None


class OrderImport(RetailerLogin):
    platform: Platform
    platform_order_id: Annotated[
        str, Field(max_length=100, examples=["112-4567890-1234567"]), AfterValidator(_platform_order_id)
    ]
    shipping_address: Address
    # The client's own references, with the same rules as on POST /v1/order.
    external_order_id: ExternalOrderId = None
    metadata: Metadata = None


class OrderImported(BaseModel):
    success: bool = True
    order_id: str  # the platform_order_id, as the reference shows
    status: str
    platform: str
    message: str
    id: str  # the OrderAtlas UUID
    credits_remaining: int


class StatusAnswer(BaseModel):
    order_id: str
    status: str
    platform: str
    tracking_number: str
    carrier: str
    est_delivery_min: str
    est_delivery_max: str


TrackingStatus = Literal["shipped", "out_for_delivery", "delivered"]


class TrackingPush(RequestModel):
    model_config = ConfigDict(extra="ignore")

    # Trimmed first: a blank tracking number would count as known and never be filled by a refresh.
    tracking_number: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        Field(examples=["1Z999AA10123456784"]),
    ]
    carrier: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=50), Field(examples=["UPS"])
    ] = ""
    status: TrackingStatus = "shipped"


class TrackingAnswer(BaseModel):
    order_id: str
    status: str
    tracking_number: str
    carrier: str
    message: str


class DeliveredIn(RequestModel):
    model_config = ConfigDict(extra="ignore")

    delivery_photo_url: Annotated[Url2000 | None, AfterValidator(_photo_url)] = None


class CancelledIn(RequestModel):
    model_config = ConfigDict(extra="ignore")

    reason: Literal["cancelled", "lost"] = "cancelled"


class Marked(BaseModel):
    """The answer of POST /delivered and /cancelled."""

    success: bool = True
    order_id: str
    status: str
    message: str


class OrderEvent(BaseModel):
    id: int
    previous_status: str | None = Field(description="null for the order's first event (created)")
    status: str
    created_at: str


class OrderEventList(BaseModel):
    id: str = Field(description="The order's OrderAtlas id")
    events: list[OrderEvent]
    total: int
