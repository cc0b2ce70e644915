"""Timestamps as the API writes them (ISO-8601 UTC ending in Z) and reads them (any ISO 8601)."""

from datetime import UTC, datetime


def iso_z(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime | None:
    """2026-03-25, 2026-03-25T14:30:00Z, 2026-03-25T14:30:00.5+02:00 ... as an aware UTC datetime;
    no offset means UTC. None when the text is not ISO 8601 (or falls outside the years 1-9999)."""
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
