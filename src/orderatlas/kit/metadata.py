"""Client metadata: a small flat map of string keys to string values, checked rule by rule."""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from orderatlas.kit.schemas import storable

MAX_KEYS = 20
MAX_KEY_CHARS = 40
MAX_VALUE_CHARS = 500

_JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", dict: "an object", list: "an array"}


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_metadata", message)


def check_metadata(value: Any) -> dict[str, str] | None:
    """Each broken rule is named in the error; an empty map is the same as none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("metadata must be a JSON object of string keys and string values")
    if len(value) > MAX_KEYS:
        raise _invalid(f"metadata may have at most {MAX_KEYS} keys, got {len(value)}")
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
            raise _invalid(f"metadata keys must be 1 to {MAX_KEY_CHARS} characters")
        if not isinstance(item, str):
            kind = "null" if item is None else _JSON_TYPES.get(type(item), "not a string")
            raise _invalid(f'metadata values must be strings: "{key}" is {kind} (no nesting)')
        if len(item) > MAX_VALUE_CHARS:
            raise _invalid(f'metadata values must be at most {MAX_VALUE_CHARS} characters: "{key}" is longer')
        if not (storable(key) and storable(item)):
            raise PydanticCustomError(
                "invalid_text", "metadata must not contain NUL characters or unpaired surrogates"
            )
    return dict(value) or None


Metadata = Annotated[
    dict[Annotated[str, Field(max_length=MAX_KEY_CHARS)], Annotated[str, Field(max_length=MAX_VALUE_CHARS)]]
    | None,
    BeforeValidator(check_metadata),
    Field(
        description=f"At most {MAX_KEYS} keys of at most {MAX_KEY_CHARS} characters, "
        f"string values of at most {MAX_VALUE_CHARS}.",
        examples=[{"ebay_store": "main", "buyer": "jdoe42"}],
    ),
]
