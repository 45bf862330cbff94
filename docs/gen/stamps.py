"""What every results table shares: reading a results file, its stamp, Markdown tables.

A stamp is the date, commit, machine and command a results file records
(bench/results_stamp.py), or, for files written before they carried one, the date and commit
that added the file to the repository, with the machine marked as not recorded.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
Problems = list[str]


def git_added(rel: str) -> tuple[str, str]:
    """(date, commit) of the last commit that changed the file."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs %h", "--", rel], cwd=REPO,
                             capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    return (out[0], out[1]) if len(out) == 2 else ("not committed", "not committed")


def stamp_fields(rel: str, data: Any) -> dict[str, str]:
    """date, commit and machine of a results file: its own stamp, else from git."""
    meta = (data.get("stamp") or data) if isinstance(data, dict) else {}
    fields = {"date": meta.get("date", ""), "commit": meta.get("commit", ""),
              "machine": meta.get("machine") or "not recorded in the file",
              "command": meta.get("command", "")}
    if not fields["date"] or not fields["commit"]:
        added_date, added_commit = git_added(rel)
        fields["date"] = fields["date"] or f"{added_date} (committed)"
        fields["commit"] = fields["commit"] and f"`{fields['commit']}`" or (
            f"`{added_commit}` (added the file)")
    else:
        fields["commit"] = f"`{fields['commit']}`"
    return fields


def stamp(rel: str, data: Any, command: str = "") -> str:
    f = stamp_fields(rel, data)
    lines = [f'!!! info "`{rel}`"', f"    **Measured** {f['date']} · **commit** {f['commit']} · "
             f"**machine** {f['machine']}"]
    if f["command"] or command:
        lines.append(f"    <br>**command** `{f['command'] or command}`")
    return "\n".join(lines) + "\n"


def stamp_rows(files: list[tuple[str, Any]]) -> str:
    """One stamp for several files: a row each."""
    folder = str(Path(files[0][0]).parent) if files else ""
    lines = [f'??? info "Sources: {len(files)} files in `{folder}/` (measured, commit, machine)"',
             "", "    | file | measured | commit | machine |", "    |---|---|---|---|"]
    for rel, data in files:
        f = stamp_fields(rel, data)
        name = rel[len(folder) + 1:] if rel.startswith(folder + "/") else rel
        lines.append(f"    | `{name}` | {f['date']} | {f['commit']} | {f['machine']} |")
    return "\n".join(lines) + "\n"


def load(rel: str, problems: Problems) -> Any:
    try:
        return json.loads((REPO / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"cannot read results file {rel}: {exc}")
        return None


def md_table(header: list[str], rows: list[list[Any]], align: str = "") -> str:
    align = align or "|".join("---" if i == 0 else "---:" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", "|" + align + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def num(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"
