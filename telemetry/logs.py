"""Process logging: one JSON object a line (or plain text for a developer), secrets redacted.

Every handler's records, ours and the libraries' (uvicorn's access log, Temporal's), pass
`RedactSecrets`: the values of `code`, `state` and token parameters in any URL, and bearer
tokens, never reach the output.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text")
REDACTED = "[redacted]"
# OAuth's callback carries `code` and `state` in its query; token names cover the rest.
SECRET_PARAMETERS = ("code", "state", "access_token", "refresh_token", "id_token", "client_secret")
SECRET_QUERY_VALUE = re.compile(
    r"(?P<key>[?&](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&\s\"'#]*", re.IGNORECASE
)
BEARER_TOKEN = re.compile(r"(?P<key>\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
JSON_FIELDS = "{levelname}{name}{message}"
# LogRecord attributes that are not worth a JSON field (the message says them already).
QUIET_ATTRIBUTES = ("color_message", "temporal_log")


def redact(text: str) -> str:
    """`text` with secret query values and bearer tokens replaced by [redacted]."""
    text = SECRET_QUERY_VALUE.sub(rf"\g<key>{REDACTED}", text)
    return BEARER_TOKEN.sub(rf"\g<key>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites each record's message (and traceback) with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Formatters print exc_text as is; without exc_info none formats it again unredacted.
            record.exc_text, record.exc_info = redact(record.exc_text), None
        for name in QUIET_ATTRIBUTES:
            record.__dict__.pop(name, None)
        return True


def formatter(log_format: LogFormat, service: str) -> logging.Formatter:
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    return JsonFormatter(
        JSON_FIELDS,
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"service": service},
        timestamp="time",  # ISO 8601, UTC
    )


def configure_logging(log_format: LogFormat, service: str, level: int = logging.INFO) -> None:
    """Send every logger's records, redacted, to stderr as `log_format`; `service` names the
    process kind ("api", "worker") on each JSON line."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(formatter(log_format, service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs each request's full URL at INFO; the QBO client logs its requests itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # uvicorn's loggers write through the root handler, so its access log is JSON and redacted.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
