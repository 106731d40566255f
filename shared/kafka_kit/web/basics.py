"""What every service built on ``kafka_kit.web`` does the same way, in one call."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from kafka_kit.web.docs import serve_docs_offline
from kafka_kit.web.startup import explain_startup_failures
from kafka_kit.web.strict_json import validation_error_answer

__all__ = ["service_basics"]


def service_basics(app: FastAPI) -> None:
    """API docs served by the service itself, strict-JSON ``422`` answers, and a start that
    fails for an explained reason said in one line.

    Args:
        app: The service's app (made with ``docs_url=None, redoc_url=None``).
    """
    serve_docs_offline(app)
    explain_startup_failures(app)
    app.add_exception_handler(RequestValidationError, validation_error_answer)
