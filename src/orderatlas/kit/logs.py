"""Log set-up shared by every entry point (the CLI, and each `orderatlas api --workers N` child)."""

from typing import Any


def configure_logging(settings: Any) -> None:
    """ORDERATLAS_LOG_LEVEL and ORDERATLAS_LOG_FORMAT (text or json), with the request/job context."""
    from orderatlas.observability.logs import configure

    configure(settings.log_level, settings.log_format)
