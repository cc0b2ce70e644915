"""Request and response models for /v1/sessions."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orderatlas.kit.schemas import RequestModel
from orderatlas.orders.schemas import Platform, ProxyText


class SessionValidate(RequestModel):
    model_config = ConfigDict(extra="ignore")

    # A secret: checked and echoed back, never stored or logged (and so not idempotent either).
    cookie_string: Annotated[str, Field(min_length=1, max_length=16384, examples=["session-id=..."])]
    proxy: ProxyText = None
    platform: Platform = "AmazonUS"


class SessionValidity(BaseModel):
    valid: bool
    status: Literal["LOGGED_IN", "LOGGED_OUT", "CHALLENGED"]
    cookie_string: str
    message: str
