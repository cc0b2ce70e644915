"""Request and response models for /v1/api-keys."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orderatlas.kit.schemas import RequestModel

Name = Annotated[str, Field(max_length=100)]
Url = Annotated[str, Field(max_length=2000)]


class ApiKey(BaseModel):
    id: str
    key_prefix: str
    name: str
    email: str
    mode: Literal["live", "test"]
    active: bool
    created_at: str
    webhook_url: str
    discord_webhook_url: str
    convert_tracking: bool | None = Field(
        description="Overrides the account's convert_tracking for this key's orders; null: the account's."
    )


class ApiKeyCreated(ApiKey):
    api_key: str = Field(description="The key itself. Shown once: only a hash of it is kept.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKey]
    total: int


class ApiKeyCreate(RequestModel):
    model_config = ConfigDict(extra="ignore")

    name: Name = ""
    mode: Literal["live", "test"] = "live"
    webhook_url: Url | None = None
    discord_webhook_url: Url | None = None


class ApiKeyUpdate(RequestModel):
    """Partial: only the fields sent change; "" clears an override (the account's setting applies)."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    webhook_url: Url | None = None
    discord_webhook_url: Url | None = None
    convert_tracking: bool | Literal[""] | None = Field(
        default=None, description='true or false overrides the account\'s setting; "" or null clears it.'
    )
