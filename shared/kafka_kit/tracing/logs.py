"""Trace ids on log lines: every record gets ``trace_id``, ``span_id`` and ``trace_context``.

``trace_context`` is `` trace_id=… span_id=…`` while a span is current and empty otherwise, so one
format serves both (``%(name)s%(trace_context)s: %(message)s``). Installed as a log record factory,
not a handler filter, so records of every logger (aiokafka's, uvicorn's) get the fields.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka_kit.tracing.ids import current_ids

__all__ = ["TRACE_LOG_FORMAT", "install_trace_log_fields"]

TRACE_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s%(trace_context)s: %(message)s"
"""The services' log format with tracing on."""

_installed = False


def install_trace_log_fields() -> None:
    """Give every log record ``trace_id``, ``span_id`` (empty without a span), ``trace_context``.

    Calling it again does nothing.
    """
    global _installed  # noqa: PLW0603 - one factory per process
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        ids = current_ids()
        record.trace_id, record.span_id = ids or ("", "")
        record.trace_context = f" trace_id={ids[0]} span_id={ids[1]}" if ids else ""
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
