"""Timestamps as the API writes them: ISO-8601 UTC ending in Z."""

from datetime import UTC, datetime


def iso_z(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
