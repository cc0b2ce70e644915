"""Request and response models for /v1/sandbox."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from orderatlas.kit.schemas import RequestModel


class PurchaseLine(BaseModel):
    asin: str
    quantity: int
    seller: str
    unit_price: float


class Purchase(BaseModel):
    id: str
    order_id: str
    platform: str
    platform_order_id: str
    account_email: str
    status: str
    lines: list[PurchaseLine]
    subtotal: float
    created_at: str


class PurchaseList(BaseModel):
    purchases: list[Purchase]
    total: int


AdvanceTarget = Literal[
    "confirmed",
    "purchased",
    "shipped",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "lost",
    "refunded",
]


class Advance(RequestModel):
    model_config = ConfigDict(extra="ignore")

    status: AdvanceTarget | None = None  # None: the next step of the order's sandbox timeline
