"""Lore's logs: every record of the standard `logging` module (Lore's own loggers, uvicorn's, libraries') goes
through one structlog `ProcessorFormatter`, so the `logging.getLogger(...)` calls across Lore stay as they are.

    {"timestamp": "2026-12-02T09:14:03.120Z", "level": "info", "logger": "lore.access", "event": "request",
     "method": "POST", "route": "/v1/search", "status": 200, "duration_ms": 12.4, "request_id": "5f0c..."}

Each record carries the structlog context variables bound where it was logged (`request_id`, and `job_id` in a
job), and the fields passed as `extra={...}`. JSON lines when stderr is not a terminal, aligned readable lines
when it is (`LORE_LOG_FORMAT` forces either). `lore serve` and `lore worker` call `configure`; uvicorn's
`log_config` (`lore.api.access_log.log_config`) builds the same formatter in each worker process.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from lore.config import LoggingSettings

# uvicorn's coloured duplicate of its message, and what another formatter may have left on a record
_NOT_FIELDS = ("color_message", "message", "asctime")
QUIET = {
    "uvicorn.access": "WARNING"
}  # loggers held above the configured level: Lore writes its own access log


def _drop_noise(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key in _NOT_FIELDS:
        event.pop(key, None)
    return event


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    _drop_noise,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def current_request_id() -> str | None:
    """The id of the request (or of the job it submitted) this code runs for, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def request_id_header() -> dict[str, str]:
    """`X-Request-ID` for a call to another service (an LLM provider), so its logs can be matched to ours."""
    request_id = current_request_id()
    return {"X-Request-ID": request_id} if request_id is not None else {}


def renders_json(log_format: str, stream: TextIO | None = None) -> bool:
    """`auto` means JSON unless the stream (stderr) is a terminal someone reads."""
    if log_format != "auto":
        return log_format == "json"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def formatter(log_format: str = "auto") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler; also a `logging.config` factory (`"()": "lore.logs.formatter"`), which is
    how uvicorn's worker processes get it. It configures structlog too, so `structlog.get_logger()` events (a
    plug-in's) take the same way."""
    as_json = renders_json(log_format)
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    last: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(ensure_ascii=False)]
        if as_json
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *last],
    )


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes, not the stream it was when logging was set up
    (which a test runner, or anything else that swaps stderr, may have closed since)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def dict_config(settings: LoggingSettings) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a Lore process: one stderr handler on the root logger at the
    configured level, every logger propagating to it, those of `QUIET` held back."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lore": {"()": "lore.logs.formatter", "log_format": settings.log_format}},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "lore", "level": settings.log_level}},
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            **{name: {"handlers": [], "level": level, "propagate": True} for name, level in QUIET.items()},
        },
    }


def configure(settings: LoggingSettings) -> None:
    """Set up this process's logging (`lore worker`; `lore serve` hands `dict_config` to uvicorn instead)."""
    import logging.config

    logging.config.dictConfig(dict_config(settings))
