"""Structured logs with dotted event names. A processor masks phone numbers and drops secrets, so a careless
`log.info(..., msisdn=...)` cannot leak a full number or a token."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_PHONE = re.compile(r"(?<!\d)(?:\+?254|0)([17]\d{2})\d{3}(\d{3})(?!\d)")
_SECRET_KEYS = ("token", "secret", "password", "auth", "key", "signature")


def _mask_text(text: str) -> str:
    return _PHONE.sub(lambda m: f"{m.group(0)[:len(m.group(0)) - 9]}{m.group(1)[0]}*****{m.group(2)}", text)


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for k, v in list(event.items()):
        if any(s in k.lower() for s in _SECRET_KEYS):
            event[k] = "[redacted]"
        elif isinstance(v, str):
            event[k] = _mask_text(v)
    return event


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
