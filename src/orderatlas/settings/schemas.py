"""Request and response models for /v1/settings, as the reference names them."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from orderatlas.kit.schemas import RequestModel

SHIP_FROM_FIELDS = (
    "ship_from_name",
    "ship_from_line1",
    "ship_from_city",
    "ship_from_state",
    "ship_from_zip",
    "ship_from_phone",
)


class AccountSettings(BaseModel):
    convert_tracking: bool
    webhook_url: str
    discord_webhook_url: str
    webhook_secret: str
    standard_webhooks_secret: str = Field(
        description="webhook_secret in Standard Webhooks form: whsec_<base64>."
    )
    rate_limit: int
    credit_balance: int
    email: str
    ship_from_name: str
    ship_from_line1: str
    ship_from_city: str
    ship_from_state: str
    ship_from_zip: str
    ship_from_phone: str
    ship_from_required: bool


class SettingsUpdate(RequestModel):
    """Partial: only the fields sent change. "" clears a URL or a ship-from field."""

    model_config = ConfigDict(extra="ignore")

    convert_tracking: bool | None = None
    webhook_url: Annotated[str, Field(max_length=2000)] | None = None
    discord_webhook_url: Annotated[str, Field(max_length=2000)] | None = None
    ship_from_name: Annotated[str, Field(max_length=200)] | None = None
    ship_from_line1: Annotated[str, Field(max_length=200)] | None = None
    ship_from_city: Annotated[str, Field(max_length=100)] | None = None
    ship_from_state: Annotated[str, Field(max_length=100)] | None = None
    ship_from_zip: Annotated[str, Field(max_length=20)] | None = None
    ship_from_phone: Annotated[str, Field(max_length=40)] | None = None


class SecretRotation(RequestModel):
    webhook_secret: Annotated[str, Field(min_length=32, max_length=256)] | None = None


class RotatedSecret(BaseModel):
    webhook_secret: str
