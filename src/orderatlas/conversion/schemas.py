"""Response models for the conversion routes, field for field as the reference names them."""

from pydantic import BaseModel, Field


class ConversionResult(BaseModel):
    order_id: str = Field(description="The order as the path named it: its UUID or its platform_order_id.")
    tracking_number: str = Field(description='The retailer\'s tracking number; "" until it has one.')
    aqualine_tracking: str
    carrier: str = Field(description='The retailer\'s carrier; "" until known.')
    message: str


class ConversionDropped(BaseModel):
    success: bool = True
    order_id: str
    dropped_aqualine: str
    message: str
