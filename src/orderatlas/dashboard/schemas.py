"""Response models for /v1/dashboard, field for field as the reference names them."""

from pydantic import BaseModel, Field


class DashboardOrder(BaseModel):
    """One row of the dashboard's order list: the reference's shape plus external_order_id."""

    id: str
    platform_order_id: str
    platform: str
    status: str
    total: str = Field(
        description='What the buyer paid, as the retailer renders it ("$29.99"); "" until known.'
    )
    tracking_number: str
    created_at: str
    external_order_id: str


class DashboardOrders(BaseModel):
    orders: list[DashboardOrder]
    total: int = Field(description="How many orders match the filters (all of them without filters).")


class Overview(BaseModel):
    orders_today: int = Field(description="Orders created since 00:00 UTC today.")
    active_tracking: int = Field(description="Orders shipped or out for delivery.")
    total_orders: int
    credit_balance: int
    api_calls_month: int = Field(
        description="Authenticated API calls this calendar month (UTC) with keys of this mode, "
        "this one included, counted across every API process."
    )
    recent_orders: list[DashboardOrder] = Field(description="The 10 newest orders, newest first.")


class TrackingConversion(BaseModel):
    id: str
    platform_order_id: str
    status: str
    tracking_number: str
    converted_tracking: str = Field(description="The order's Aquiline tracking number.")
    created_at: str


class TrackingConversions(BaseModel):
    orders: list[TrackingConversion] = Field(description="Orders holding Aquiline tracking, newest first.")
    total: int
