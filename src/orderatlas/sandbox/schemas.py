"""Response models for /v1/sandbox."""

from pydantic import BaseModel


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
