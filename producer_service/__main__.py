"""``python -m producer_service``: the producer, one worker process per core.

Options: ``--host`` (default 127.0.0.1), ``--port`` (8000), ``--workers`` (the cores this process
may use; in outbox mode 1, since each worker would relay the one outbox file).
"""

from __future__ import annotations

import argparse
import sys

from kafka_kit.settings import exit_if_invalid
from kafka_kit.web.serve import default_workers, serve
from producer_service.app import SETTINGS
from producer_service.settings import ProducerApiSettings


def main(argv: list[str] | None = None) -> int:
    """Parse the options, check the environment, serve."""
    parser = argparse.ArgumentParser(prog="python -m producer_service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    exit_if_invalid(*SETTINGS)
    outbox = ProducerApiSettings().delivery_mode == "outbox"
    workers = args.workers if args.workers is not None else 1 if outbox else default_workers()
    if workers < 1:
        parser.error(f"--workers must be at least 1, not {workers}")
    if outbox and workers > 1:
        parser.error("outbox mode runs one worker: the outbox file has one relay")
    return serve(
        "producer_service.main:app",
        host=args.host,
        port=args.port,
        workers=workers,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    sys.exit(main())
