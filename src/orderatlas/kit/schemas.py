"""The base of every request model: text PostgreSQL can store, or a clear 400."""

from typing import Any

from pydantic import BaseModel, SecretStr, field_validator
from pydantic_core import PydanticCustomError


def storable(text: str) -> bool:
    """No NUL (PostgreSQL text refuses it) and no unpaired surrogate (not encodable as UTF-8)."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


class RequestModel(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not storable(text):
            raise PydanticCustomError(
                "invalid_text", "text must not contain NUL characters or unpaired surrogates"
            )
        return value
