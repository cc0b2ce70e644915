"""Request and response models for /v1/billing, as the reference names them."""

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from orderatlas.kit.schemas import RequestModel
from orderatlas.models.credit import TransactionType

Url = Annotated[str, Field(max_length=2000, examples=["https://orderatlas.net/dashboard"])]


class Costs(BaseModel):
    order_placement: int
    tracking_conversion: int
    order_import: int


class Balance(BaseModel):
    credit_balance: int
    costs: Costs
    credits_owed: int = Field(
        description="Credits of refunded top-ups the balance could not cover; taken from the next deposit."
    )
    mode: Literal["live", "test"]


class Transaction(BaseModel):
    id: str
    amount: int = Field(description="Signed: positive adds credits, negative takes them.")
    type: TransactionType
    description: str
    order_id: str = Field(description='The order it paid for or refunded; "" when none.')
    created_at: str


class TransactionList(BaseModel):
    transactions: list[Transaction]
    has_more: bool
    total: int = Field(description="Rows matching type and the created_* filters, over all pages.")


class TopupCreate(RequestModel):
    credits: StrictInt = Field(examples=[100])
    success_url: Url
    cancel_url: Url

    @field_validator("success_url", "cancel_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises on a port that is not a number or out of range)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError("invalid_url", "success_url and cancel_url must be http(s) URLs")
        return value


class TopupCreated(BaseModel):
    checkout_url: str
    credits: int


class WebhookReceived(BaseModel):
    received: bool = True
    duplicate: bool = Field(description="The event was received before; nothing was done again.")
    outcome: str
