"""Request and response models for /v1/order, field for field as the reference names them."""

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from orderatlas.kit.metadata import Metadata
from orderatlas.kit.money import CENT
from orderatlas.kit.schemas import RequestModel
from orderatlas.retailers.base import Proxy
from orderatlas.retailers.marketplaces import MARKETPLACES
from orderatlas.webhooks.targets import has_control_characters

ASIN_PATTERN = re.compile(r"^[A-Z0-9]{10}$")
MAX_EXTERNAL_ORDER_ID = 100
MAX_ITEMS = 50
MAX_QUANTITY = 999
MAX_PRICE = Decimal("1000000")
MAX_PRICE_CHARS = 32  # a price sent as a string ("49.99")


def _price(value: Any) -> Decimal | None:
    """price_max: a JSON number (or numeric string); 0 or absent means no cap."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PydanticCustomError("invalid_price", "price_max must be a number")
    if isinstance(value, str) and len(value) > MAX_PRICE_CHARS:
        raise PydanticCustomError("invalid_price", "price_max must be a number")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("invalid_price", "price_max must be a number") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise PydanticCustomError("invalid_price", "price_max must be a number between 0 and 1000000")
    if 0 < price < CENT:
        raise PydanticCustomError("invalid_price", "price_max must be 0 (no cap) or at least 0.01")
    return None if price == 0 else price.quantize(CENT, rounding=ROUND_DOWN)


def _quantity(value: Any) -> int:
    """quantity: omitted or <= 0 means 1."""
    if value is None:
        return 1
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_quantity", "quantity must be a whole number")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise PydanticCustomError("invalid_quantity", "quantity must be a whole number")
    if number > MAX_QUANTITY:
        raise PydanticCustomError("invalid_quantity", f"quantity must be at most {MAX_QUANTITY}")
    return max(number, 1)


def _asin(value: Any) -> str:
    if not isinstance(value, str) or not ASIN_PATTERN.match(value.strip().upper()):
        raise PydanticCustomError("invalid_asin", "ASIN must be 10 letters or digits, e.g. B09V3KXJPB")
    return value.strip().upper()


def _external_order_id(value: Any) -> str | None:
    """The client's own reference, e.g. the eBay order id; blank means none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_external_order_id", "external_order_id must be a string")
    value = value.strip()
    if len(value) > MAX_EXTERNAL_ORDER_ID:
        raise PydanticCustomError(
            "invalid_external_order_id",
            f"external_order_id must be at most {MAX_EXTERNAL_ORDER_ID} characters",
        )
    return value or None


ExternalOrderId = Annotated[
    Annotated[str, Field(max_length=MAX_EXTERNAL_ORDER_ID)] | None,
    BeforeValidator(_external_order_id),
    Field(examples=["12-34567-89012"]),
]


def _known_platform(value: str) -> str:
    if value not in MARKETPLACES:
        raise PydanticCustomError(
            "invalid_platform",
            "unknown platform {platform}: use one of {known}",
            {"platform": value, "known": ", ".join(MARKETPLACES)},
        )
    return value


def _proxy_format(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        Proxy.parse(value)
    except ValueError as exc:
        raise PydanticCustomError("invalid_proxy", str(exc)) from None
    return value.strip()


def _http_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not re.match(r"^https?://[^\s/]+", value.strip()) or has_control_characters(value):
        raise PydanticCustomError("invalid_webhook_url", "webhook_url must be an http(s) URL")
    return value.strip()


def _password_present(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise PydanticCustomError("missing", "account_password is required")
    return value


PriceMax = Annotated[
    Decimal | None,
    BeforeValidator(_price),
    WithJsonSchema(
        {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": MAX_PRICE_CHARS}, {"type": "null"}]}
    ),
    Field(examples=[50.0]),
]
Quantity = Annotated[int, BeforeValidator(_quantity), Field(examples=[1])]
Asin = Annotated[str, BeforeValidator(_asin), Field(max_length=10, examples=["B09V3KXJPB"])]
Text200 = Annotated[str, Field(max_length=200)]
Platform = Annotated[str, Field(max_length=40, examples=["AmazonUS"]), AfterValidator(_known_platform)]
# Secrets are bounded like everything else: a request body is capped, and so is each field.
ProxyText = Annotated[
    str | None, Field(max_length=500, examples=["ip:port:user:pass"]), AfterValidator(_proxy_format)
]
Password = Annotated[SecretStr, Field(max_length=1024), AfterValidator(_password_present)]
TwoFactorSecret = Annotated[SecretStr, Field(max_length=256)]
CardField = Annotated[SecretStr, Field(max_length=64)]
AccountEmail = Annotated[str, Field(min_length=1, max_length=320)]
Url2000 = Annotated[str, Field(max_length=2000)]
WebhookUrl = Annotated[Url2000 | None, AfterValidator(_http_url)]


class Address(RequestModel):
    name: Text200
    phone: Annotated[str, Field(max_length=40)]
    line1: Text200
    line2: Text200 | None = None
    city: Annotated[str, Field(max_length=100)]
    state: Annotated[str, Field(max_length=100)]
    zip: Annotated[str, Field(max_length=20)]


class PartialAddress(RequestModel):
    """ship_from and billing_address: every field may be left out."""

    name: Text200 | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    line1: Text200 | None = None
    line2: Text200 | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    state: Annotated[str, Field(max_length=100)] | None = None
    zip: Annotated[str, Field(max_length=20)] | None = None


class PaymentMethod(RequestModel):
    """Held in memory and in the sealed job payload only; never stored, logged or echoed."""

    credit_card_number: CardField
    holder_name: Annotated[SecretStr, Field(max_length=200)]
    exp_month: CardField
    exp_year: CardField
    cvv: CardField | None = None
    billing_address: PartialAddress | None = None


class OrderItemIn(RequestModel):
    asin: Asin
    quantity: Quantity = 1
    price_max: PriceMax = None


class OrderCreate(RequestModel):
    model_config = ConfigDict(extra="ignore")

    platform: Platform
    product_id: str | None = Field(default=None, max_length=40, examples=["B09V3KXJPB"])
    quantity: Quantity = 1
    price_max: PriceMax = None
    items: Annotated[list[OrderItemIn], Field(max_length=MAX_ITEMS)] | None = None
    account_email: AccountEmail
    account_password: Password
    account_2fa_secret: TwoFactorSecret | None = None
    proxy: ProxyText = None
    shipping_address: Address
    ship_from: PartialAddress | None = None
    payment_method: PaymentMethod | None = None
    webhook_url: WebhookUrl = None
    convert_tracking: bool | None = None
    auto_subscribe_save: bool = False
    gift: bool = False
    gifter_name: Text200 | None = None
    gift_message: Annotated[str, Field(max_length=1000)] | None = None
    external_order_id: ExternalOrderId = None
    metadata: Metadata = None

    @model_validator(mode="after")
    def _shape(self) -> "OrderCreate":
        if not self.items:
            if self.product_id is None:
                raise PydanticCustomError("missing_product", "either product_id or items is required")
            self.product_id = _asin(self.product_id)  # checked only when used: items wins
        if self.gift and not (self.gifter_name or "").strip():
            raise PydanticCustomError("gifter_name_required", "gifter_name is required when gift is true")
        return self

    @property
    def lines(self) -> list[OrderItemIn]:
        """Both shapes as line items: items wins; the legacy fields make one line."""
        if self.items:
            return list(self.items)
        assert self.product_id is not None
        return [OrderItemIn(asin=self.product_id, quantity=self.quantity)]


class OrderCreated(BaseModel):
    success: bool = True
    order_id: str
    platform: str
    status: str
    message: str
    credits_remaining: int


class OrderItemDetail(BaseModel):
    asin: str
    quantity: int
    price_max: float | int
    price: str
    price_amount: float | int
    seller: str
    outcome: str


class OrderFields(BaseModel):
    """What GET /v1/order/:id and GET /v1/orders both say about an order."""

    id: str
    platform: str
    status: str
    platform_order_id: str
    asin: str
    product_title: str
    quantity: int
    price: str
    shipping: str
    credit: str
    tax: str
    total: str
    price_amount: float | int
    shipping_amount: float | int
    credit_amount: float | int
    tax_amount: float | int
    total_amount: float | int
    invoice_link: str
    invoice_fetched_at: str
    logged_in: bool
    auto_subscribe_save: bool
    subscription_canceled: bool
    tracking_number: str
    carrier: str
    aqualine_tracking: str
    dropped_aqualine_tracking: list[str] = Field(
        description="Every Aquiline label dropped from the order (POST .../drop-conversion), newest first."
    )
    external_order_id: str
    metadata: dict[str, str]
    order_html_url: str
    order_html_updated_at: str
    delivery_photo_url: str
    failure_reason_code: str
    notes: list[str]


class OrderDetail(OrderFields):
    items: list[OrderItemDetail]
    created_at: str
    updated_at: str
    credits_remaining: int


class ListedOrder(OrderFields):
    created_at: str
    updated_at: str
    items: list[OrderItemDetail] | None = Field(default=None, description="Only with expand=items.")


class OrderList(BaseModel):
    orders: list[ListedOrder]
    next_token: str = Field(description='Pass it back as next_token for the next page; "" on the last page.')
    updated_before: str = Field(
        description="With updated_after: the end of this sync window. Every matching change made "
        'before it is in this walk; start the next sync with updated_after set to it. Otherwise "".'
    )


class OrderDeleted(BaseModel):
    status: str = "deleted"
