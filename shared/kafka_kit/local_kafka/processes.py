"""Small process helpers: children that die with their parent, and pid checks."""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cmdline", "kill_with_parent", "log_tail", "pid_alive", "spawn", "tied_to_parent"]


_PR_SET_PDEATHSIG = 1


def kill_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """``preexec_fn``: the kernel SIGKILLs the child when the process that started it dies."""
    # If the owner dies without cleaning up (SIGKILL, crash), nothing it started outlives it.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def tied_to_parent(command: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``command`` and a ``preexec_fn`` such that the child is SIGKILLed when its parent dies.

    Args:
        command: The command line.
    """
    setpriv = shutil.which("setpriv")
    if setpriv:
        # util-linux sets the death signal and execs: no Python runs between fork and exec.
        return [setpriv, "--pdeathsig", "KILL", "--", *command], None
    return command, kill_with_parent


_spawner = concurrent.futures.ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="kafka-local-spawner"
)


def spawn(command: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` from one thread that lives as long as the process.

    The kernel's parent-death signal fires when the *thread* that started the child exits, not
    the process: a child started from a short-lived worker thread (``asyncio.to_thread``) would be
    killed with that thread.

    Args:
        command: The command line.
        popen: More ``subprocess.Popen`` arguments.
    """

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, **popen)

    return _spawner.submit(start).result()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone).

    Args:
        pid: A process id.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    """The command line of ``pid``, space-separated ('' when unknown).

    Args:
        pid: A process id.
    """
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a process's log file, for error messages.

    Args:
        path: The log file.
        lines: How many lines.
    """
    try:
        with open(path, errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
    except OSError:
        return "(no log written)"
