"""The stamp every results file carries: when, at which commit, on what machine, by which
command. The documentation's results pages print it above each table (docs/gen/results.py)."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def commit() -> str:
    """The checked-out commit, `+dirty` when tracked files differ from it; '' outside git."""
    head = _git("rev-parse", "--short=10", "HEAD")
    if head and _git("status", "--porcelain", "--untracked-files=no"):
        head += "+dirty"
    return head


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
            f"Python {platform.python_version()}")


def stamp(argv: list[str] | None = None) -> dict[str, str]:
    """date (UTC), commit, machine and the command line that made the results."""
    args = sys.argv if argv is None else argv
    script = os.path.relpath(args[0], REPO) if args else ""
    return {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit(), "machine": machine(),
            "command": shlex.join(["python", script, *args[1:]])}
