"""What GET /v1/orders can be asked for: its filters and a position in a walk, as plain values."""

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Filters:
    statuses: tuple[str, ...] = ()
    platform: str | None = None
    external_order_id: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # inclusive
    updated_after: datetime | None = None  # inclusive; makes the walk a sync window
    metadata: tuple[tuple[str, str], ...] = ()  # every pair must be in the order's metadata

    @property
    def is_sync(self) -> bool:
        return self.updated_after is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                data[field.name] = value.isoformat()
            elif isinstance(value, tuple):
                data[field.name] = [list(v) if isinstance(v, tuple) else v for v in value]
            else:
                data[field.name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Filters":
        def moment(name: str) -> datetime | None:
            return datetime.fromisoformat(data[name]) if data[name] is not None else None

        return cls(
            statuses=tuple(str(s) for s in data["statuses"]),
            platform=data["platform"],
            external_order_id=data["external_order_id"],
            created_after=moment("created_after"),
            created_before=moment("created_before"),
            updated_after=moment("updated_after"),
            metadata=tuple((str(k), str(v)) for k, v in data["metadata"]),
        )


@dataclass(frozen=True)
class Position:
    """The sort key of the last order on a page: created_at (newest first) or updated_at (sync)."""

    at: datetime
    id: uuid.UUID
