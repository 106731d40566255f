"""The ``kafka-kit`` command: run an app, and the kit's tools.

``kafka-kit run module:app`` imports ``app`` (a :class:`~kafka_kit.KafkaApp`) from ``module`` and
runs it until Ctrl-C or SIGTERM, which stop it gracefully (exit code 0; every listener commits what
it handled). ``--workers N`` runs N processes of it, which share each listener's consumer group
and so split its partitions; ``--reload`` restarts it when a Python file changes (watchfiles,
extra ``cli``). ``kafka-kit kafka …`` is the local Kafka launcher (``python -m
kafka_kit.local_kafka``), ``kafka-kit token PATH`` writes an admin token file for the services.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from kafka_kit._extras import requires_extra
from kafka_kit.app import KafkaApp
from kafka_kit.errors import KafkaKitError, MissingExtraError

__all__ = ["AppNotFoundError", "load_app", "main"]

log = logging.getLogger("kafka_kit.cli")

WORKER_ENV = "KAFKA_KIT_WORKER"
"""Set in each ``--workers`` process to its number (0, 1, …)."""


class AppNotFoundError(KafkaKitError, LookupError):
    """``module:attribute`` does not name a KafkaApp: the message says what was found instead."""


def load_app(spec: str, app_dir: str = ".") -> KafkaApp:
    """Import ``module:attribute`` (``module`` alone: its ``app``) with ``app_dir`` on the path.

    Args:
        spec: ``module:attribute``, or ``module`` for its ``app``.
        app_dir: Put on ``sys.path`` first.
    """
    found = _load(spec, app_dir)
    if not isinstance(found, KafkaApp):
        raise AppNotFoundError(f"{spec} is a {type(found).__name__}, not a KafkaApp")
    return found


def _load(spec: str, app_dir: str) -> object:
    """The object ``module:attribute`` names (``module`` alone: its ``app``)."""
    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise AppNotFoundError(
            f"{spec!r} is not module:attribute — e.g. kafka-kit run hello:app for the app "
            "object in hello.py"
        )
    folder = str(Path(app_dir).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise  # the module itself imports something missing: its own traceback says what
        raise AppNotFoundError(
            f"cannot import module {module_name!r} from {folder}: run kafka-kit from the folder "
            "that holds it, or give --app-dir"
        ) from None
    try:
        found = module
        for part in attribute.split("."):
            found = getattr(found, part)
    except AttributeError:
        apps = sorted(name for name, value in vars(module).items() if isinstance(value, KafkaApp))
        hint = f" (its KafkaApp objects: {', '.join(apps)})" if apps else " (it has no KafkaApp)"
        raise AppNotFoundError(
            f"module {module_name!r} has no attribute {attribute!r}{hint}"
        ) from None
    return found


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _run(args: argparse.Namespace) -> int:
    if args.reload:
        return _reload(args)
    if args.workers > 1:
        return _supervise(args)
    _configure_logging(args.log_level)
    try:
        app = load_app(args.app, args.app_dir)
        asyncio.run(app.serve())
    except KafkaKitError as exc:
        # What failed and what to do, in one line (the kit's errors say both).
        print(f"kafka-kit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # a second Ctrl-C: stopped without waiting
    return 0


def _child_command(args: argparse.Namespace) -> list[str]:
    """This run, as one process: no workers, no reload."""
    return [
        sys.executable,
        "-m",
        "kafka_kit.cli",
        "run",
        args.app,
        "--app-dir",
        args.app_dir,
        "--log-level",
        args.log_level,
    ]


def _supervise(args: argparse.Namespace) -> int:
    """``--workers N``: N processes of the app, stopped together; the first failure's code."""
    _configure_logging(args.log_level)
    # Fails here, once, rather than in N workers.
    try:
        load_app(args.app, args.app_dir)
    except KafkaKitError as exc:
        print(f"kafka-kit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    workers = [
        subprocess.Popen(_child_command(args), env={**os.environ, WORKER_ENV: str(number)})
        for number in range(args.workers)
    ]
    log.info("kafka-kit: %d workers (pids %s)", len(workers), [w.pid for w in workers])
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = 0
        pending = list(workers)
        while pending:
            for worker in list(pending):
                try:
                    returned = worker.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    continue
                pending.remove(worker)
                if returned and not stopping:
                    log.error("kafka-kit: worker %d exited with %d: stopping the others",
                              worker.pid, returned)  # fmt: skip
                    forward(signal.SIGTERM, None)
                code = code or returned
        return code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _reload(args: argparse.Namespace) -> int:
    try:
        with requires_extra("cli", "kafka-kit run --reload"):
            import watchfiles  # noqa: PLC0415 - only --reload needs it
    except MissingExtraError as exc:
        print(f"kafka-kit: {exc}", file=sys.stderr)
        return 2
    _configure_logging(args.log_level)
    # watchfiles stops on KeyboardInterrupt: make Ctrl-C raise it even where SIGINT came in
    # ignored (a background job of a shell), as servers do.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    folders = args.reload_dir or [args.app_dir]
    command = shlex.join(_child_command(args))
    log.info("kafka-kit: watching %s for changes", ", ".join(folders))
    # Each change: SIGINT to the app (a graceful stop, commits flushed), then a new one.
    watchfiles.run_process(
        *folders,
        target=command,
        target_type="command",
        watch_filter=watchfiles.PythonFilter(),
        sigint_timeout=30,
        callback=_changed,
    )
    return 0


def _changed(changes: set[tuple[Any, str]]) -> None:
    names = sorted({Path(path).name for _, path in changes})
    log.info("kafka-kit: %s changed: restarting the app", ", ".join(names))


def _kafka(args: argparse.Namespace) -> int:
    from kafka_kit.local_kafka.__main__ import main as launcher  # noqa: PLC0415 - on demand

    return launcher(args.rest, prog="kafka-kit kafka")


def _asyncapi(args: argparse.Namespace) -> int:
    from kafka_kit.asyncapi import asyncapi_document  # noqa: PLC0415 - on demand

    found = _load(args.app, args.app_dir)
    made = getattr(getattr(found, "state", None), "asyncapi", None)  # a service_app's
    if isinstance(found, KafkaApp):
        title = args.title or args.app.partition(":")[0]
        document = asyncapi_document(found, title=title, version=args.api_version)
    elif callable(made):
        document = made()
    else:
        raise AppNotFoundError(
            f"{args.app} is a {type(found).__name__}: give a KafkaApp, or a web app made by "
            "kafka_kit.web.service.service_app"
        )
    text = json.dumps(document, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(
            f"{args.output}: AsyncAPI {document['asyncapi']}, {len(document['operations'])} "
            f"operations on {len(document['channels'])} channels",
            file=sys.stderr,
        )
    return 0


def _token(args: argparse.Namespace) -> int:
    from kafka_kit.web.tokens import main as tokens  # noqa: PLC0415 - needs the web extra

    return tokens([args.path])


def parser() -> argparse.ArgumentParser:
    """The command line: ``run``, ``kafka``, ``asyncapi``, ``token``."""
    top = argparse.ArgumentParser(
        prog="kafka-kit", description="Run kafka-kit apps and the kit's tools."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a KafkaApp until Ctrl-C",
        description="Run a KafkaApp until Ctrl-C or SIGTERM (a graceful stop: exit code 0).",
    )
    run.add_argument("app", metavar="MODULE:APP", help="where the app is, e.g. hello:app")
    run.add_argument("--app-dir", default=".", help="the folder to import MODULE from (.)")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes of the app; they share each listener's group and split its partitions",
    )
    run.add_argument(
        "--reload", action="store_true", help="restart when a .py file changes (development)"
    )
    run.add_argument(
        "--reload-dir", action="append", help="folders --reload watches (--app-dir by default)"
    )
    run.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="the logging level (info)",
    )
    run.set_defaults(handler=_run)
    kafka = commands.add_parser(
        "kafka",
        help="the local Kafka launcher (start, run, stop, status, resolve)",
        description="The local Kafka launcher: kafka-kit kafka start --nodes 3, … "
        "(kafka-kit kafka --help for its commands).",
        add_help=False,
    )
    kafka.add_argument("rest", nargs=argparse.REMAINDER)
    kafka.set_defaults(handler=_kafka)
    asyncapi = commands.add_parser(
        "asyncapi",
        help="print the AsyncAPI 3.0 document of a KafkaApp or a service",
        description="The AsyncAPI document of what the app reads and writes (its listeners and "
        "publishers, their topics and payload schemas); nothing is started.",
    )
    asyncapi.add_argument("app", metavar="MODULE:APP", help="a KafkaApp, or a service's web app")
    asyncapi.add_argument("--app-dir", default=".", help="the folder to import MODULE from (.)")
    asyncapi.add_argument("--title", help="the document's title (a KafkaApp's: MODULE)")
    asyncapi.add_argument(
        "--api-version", default="1.0.0", help="the version of the API described (1.0.0)"
    )
    asyncapi.add_argument("-o", "--output", help="write it to this file instead of stdout")
    asyncapi.set_defaults(handler=_asyncapi)
    token = commands.add_parser(
        "token", help="write a new admin token to a file (for API_ADMIN_TOKEN_FILE)"
    )
    token.add_argument("path", help="the file to write the token to")
    token.set_defaults(handler=_token)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kafka-kit``.

    Args:
        argv: The arguments (``sys.argv[1:]`` when omitted).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kafka"]:
        # Everything after it is the launcher's, --help included (argparse would take that).
        return _kafka(argparse.Namespace(rest=argv[1:]))
    args = parser().parse_args(argv)
    if args.command == "run" and args.workers < 1:
        parser().error("--workers must be at least 1")
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
