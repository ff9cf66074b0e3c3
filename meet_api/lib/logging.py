"""Structured JSON logs: one object per line, each with the request id of its request.

Nothing here ever logs headers or bodies, so an ``Authorization`` header or an API key
cannot reach a log line; :data:`REDACT` scrubs key-shaped strings from messages anyway
(a defence against a careless ``log.info("%s", token)`` later on).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from litestar.logging.config import LoggingConfig

from meet_api.lib.context import current_request_id

# API keys (mka_<id>_<secret>), bearer tokens and Google access tokens.
REDACT = re.compile(r"mka_[a-z2-7]{16}_[A-Za-z0-9_-]+|(?i:bearer)\s+\S+|ya29\.[A-Za-z0-9._-]+")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def redact(text: str) -> str:
    return REDACT.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", ...extra fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


LOGGERS = ("meet_api", "meet_core", "uvicorn", "uvicorn.error", "litestar")


def logging_config(
    level: int = logging.INFO, stream: Any = None, also: tuple[str, ...] = ()
) -> LoggingConfig:
    """Litestar's ``LoggingConfig`` (``logging.config.dictConfig`` underneath) for one JSON
    stream shared by the API's, the provisioner's and the server's loggers and those named in
    ``also``. The root logger is left alone, as are loggers not named here."""
    config = LoggingConfig(
        formatters={"json": {"()": JsonFormatter}},
        handlers={
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": stream or sys.stderr,
            }
        },
        loggers={
            name: {"level": level, "handlers": ["json"], "propagate": False}
            for name in (*LOGGERS, *also)
        },
        configure_root_logger=False,
        # 500s are logged once, with the request id, by the problem plugin (problems.py).
        log_exceptions="never",
    )
    # Litestar adds a "console" and a "queue_listener" handler (a thread, and on Python
    # 3.11 a second formatting pass that would wrap our JSON in its text format); lines are
    # written directly instead, so none is lost when the process is stopped.
    for unused in ("console", "queue_listener"):
        config.handlers.pop(unused, None)
    return config


def configure_logging(
    level: int = logging.INFO, stream: Any = None, also: tuple[str, ...] = ()
) -> None:
    """Apply :func:`logging_config` to this process (the CLI and the server call it once)."""
    logging_config(level, stream, also).configure()
    # uvicorn's own access log would duplicate ours without the request id.
    logging.getLogger("uvicorn.access").disabled = True
