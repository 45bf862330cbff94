"""Every shell command in the documentation runs as written, and prints what the page shows.

The commands are the code blocks of README.md and docs/**/*.md in two forms:

- ```` ```console ```` blocks: each `$ COMMAND` line runs; the lines after it (up to the next
  `$`) are its shown output. The first shown line that is not `...` must be printed by the
  command (stdout or stderr), where every number in it may be any number, hex digests any
  digest, and `...` inside the line stands for anything.
- ```` ```sh ```` blocks: each line runs; its expected line is given by a
  `<!-- expect: LINE -->` comment before the block, one per command, in order.

Comments directly before a block change how it runs:

- `<!-- hardware -->`: needs a real bench (a Pico on a port, a DMM, a supply); not run.
- `<!-- exit: N -->`: every command of the block must exit with N instead of 0.

The commands of one page run in order in one fresh working directory (so `wphil eval runs/xor`
finds what `wphil train --out runs/xor` wrote before it), with `python` and `wphil` this
interpreter's, `bench/` holding the repository's scripts and bench files (results written
there stay in the temporary directory) and a fresh `$XDG_CACHE_HOME`. Commands naming
`rp2040://` need the emulated Pico; when it is missing here the others still run and the test
is reported as skipped, with the reason.

Quick flags (QUICK below), so the whole test stays near a minute: installing is checked, not
done (every extra a `pip install` names must exist in pyproject.toml); bare `pytest` runs one
test; benchmark grids run one seed on a small query budget; training on the emulated Pico
stops after 400 queries, or 3 epochs on chip; the recurrent comparison leaves out `offline`,
whose BPTT trains its model to the target whatever the query budget. A command run with a
quick flag is checked against the quick flag's own expected line instead of the page's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TIMEOUT_S = 300

#: (what a command matches, how to change it, what the changed command must print)
QUICK: list[tuple[str, list[tuple[str, str]], str]] = [
    (r"^pytest$", [(r"^pytest$", "python -m pytest -q -p no:cacheprovider tests/test_api.py "
                    "-k readme_api_example")], r"\b1 passed\b"),
    # offline's BPTT on a recurrent bench trains the model until it fits, whatever the budget
    (r"^wphil bench learn --tasks (delayed-xor|oscillator)\b",
     [(r"--seeds \d+", "--seeds 1 --max-queries 2000"), (r",offline\b", "")],
     r"^wrote \S*learn\.md"),
    (r"^wphil bench learn ", [(r"--seeds \d+", "--seeds 1 --max-queries 2000"),
                              (r"--tasks xor,\S+", "--tasks xor")], r"^wrote \S*learn\.md"),
    (r"bench/sequence_learning\.py ", [(r"--seeds \d+", "--seeds 1 --max-queries 2000")],
     r"converged; median queries"),
    (r"bench/rp2040_recurrent\.py ", [(r" --.*$", " --quick")],
     r"reached the target|rp2040:// is not available"),
    (r"bench/rp2040_transfer\.py ", [(r" --.*$", " --quick")],
     r"at the target on rp2040://|rp2040:// is not available"),
    (r"bench/bench_sequence\.py ", [(r"(\s+#.*)?$", " --rounds 1 --seconds 0.05")],
     r"sequences/s"),
    (r"^npm ci ", [(r"^npm ci ", "npm ci --dry-run --no-audit --no-fund ")],
     r"^(added|up to date|removed|changed) "),
    (r"^wphil train .*rp2040://.*--onchip", [(r"--onchip", "--onchip --epochs 3")],
     r"^(converged|stopped) .* -> "),
    (r"^wphil train .*rp2040://", [(r"--device rp2040://", "--device rp2040:// --max-queries 400")],
     r"^(converged|stopped) .* -> "),
]


@dataclass
class Command:
    page: str
    line: int
    text: str
    expect: str = ""                   # the shown line, or a QUICK regex (then `quick`)
    exit_code: int = 0
    quick: bool = False


@dataclass
class Block:
    page: str
    commands: list[Command] = field(default_factory=list)
    hardware: bool = False


def _expected_regex(shown: str) -> str:
    parts = re.split(r"(\.\.\.|…)", shown.strip())
    out = []
    for part in parts:
        if part in ("...", "…"):
            out.append(".*")
            continue
        for token in re.split(r"(\b[0-9a-f]{8,}\b|\d+)", part):
            if re.fullmatch(r"[0-9a-f]{8,}", token) and re.search(r"[a-f]", token):
                out.append(r"[0-9a-f]+")
            elif token.isdigit():
                out.append(r"\d+")
            else:
                out.append(re.escape(token))
    return "".join(out)


def _commands_of(page: str, start: int, lang: str, body: list[str],
                 marks: list[str]) -> list[Command]:
    exit_code = next((int(m.split(":")[1]) for m in marks if m.startswith("exit:")), 0)
    expects = [m.split(":", 1)[1].strip() for m in marks if m.startswith("expect:")]
    commands: list[Command] = []
    if lang == "sh":
        for i, text in enumerate(line.strip() for line in body):
            if text and not text.startswith("#"):
                shown = expects[len(commands)] if len(commands) < len(expects) else ""
                commands.append(Command(page, start + i + 1, text, shown, exit_code))
        return commands
    continued = False
    for i, line in enumerate(body):
        stripped = line.strip()
        if continued:                   # a command continued with a backslash
            commands[-1].text = commands[-1].text[:-1].rstrip() + " " + stripped
        elif stripped.startswith("$ "):
            commands.append(Command(page, start + i + 1, stripped[2:], "", exit_code))
        elif commands and not commands[-1].expect and stripped not in ("", "...", "…"):
            commands[-1].expect = stripped
        continued = bool(commands) and stripped.endswith("\\") and (
            continued or stripped.startswith("$ "))
    return commands


def doc_blocks() -> list[Block]:
    fence = re.compile(r"^(\s*)```(console|sh)\s*$")
    blocks = []
    for path in PAGES:
        page = str(path.relative_to(ROOT))
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            match = fence.match(line)
            if not match:
                continue
            end = next(i for i in range(n + 1, len(lines)) if lines[i].strip() == "```")
            marks, k = [], n - 1
            while k >= 0 and re.match(r"^\s*<!-- (.*) -->\s*$", lines[k]):
                marks.insert(0, re.match(r"^\s*<!-- (.*) -->\s*$", lines[k]).group(1).strip())
                k -= 1
            block = Block(page, _commands_of(page, n + 1, match.group(2), lines[n + 1:end],
                                             marks), hardware="hardware" in marks)
            blocks.append(block)
    return blocks


def _extras_exist(text: str) -> str | None:
    """`pip install ...` is checked, not run: every extra it names exists; else why not."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for group in re.findall(r"\[([\w,-]+)\]", text):
        for extra in group.split(","):
            if extra not in extras:
                return f"extra {extra!r} is not in pyproject.toml ({', '.join(extras)})"
    return None


def _quick(command: Command) -> Command:
    for matches, substitutions, expect in QUICK:
        if re.search(matches, command.text):
            text = command.text
            for pattern, replacement in substitutions:
                text = re.sub(pattern, replacement, text, count=1)
            return Command(command.page, command.line, text, expect, command.exit_code, True)
    return command


def _workdir(tmp: Path) -> Path:
    """A working directory with bench/ (scripts, bench files, an empty results/) and the
    emulator's package files, so commands written for the repository's top run here."""
    work = tmp / "work"
    (work / "bench" / "results").mkdir(parents=True)
    for item in (ROOT / "bench").iterdir():
        if item.is_file():
            (work / "bench" / item.name).symlink_to(item)
    npm = work / "drivers" / "rp2040js"
    npm.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        if (ROOT / "drivers" / "rp2040js" / name).is_file():
            shutil.copy(ROOT / "drivers" / "rp2040js" / name, npm / name)
    return work


def _env(tmp: Path) -> dict[str, str]:
    shims = tmp / "bin"
    shims.mkdir()
    (shims / "python").symlink_to(sys.executable)
    wphil = shims / "wphil"
    wphil.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wphil "$@"\n')
    wphil.chmod(0o755)
    return {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
            "XDG_CACHE_HOME": str(tmp / "cache"), "MPLBACKEND": "Agg",
            "COLUMNS": "100", "NO_COLOR": "1"}


def _run(command: Command, work: Path, env: dict[str, str]) -> str | None:
    """Run one documented command; None if it did what the page says, else what went wrong."""
    where = f"{command.page}:{command.line}: `{command.text}`"
    parts = [p.strip() for p in command.text.split("&&")]
    if parts[0].startswith("pip install"):
        problem = _extras_exist(parts[0])
        if problem or len(parts) == 1:
            return f"{where}: {problem}" if problem else None
        rest = _quick(Command(command.page, command.line, " && ".join(parts[1:]),
                              command.expect, command.exit_code))
        return _run(rest, work, env)
    command = _quick(command)
    cwd = ROOT if command.text.startswith("python -m pytest") else work
    try:
        proc = subprocess.run(["bash", "-c", command.text], cwd=cwd, env=env, timeout=TIMEOUT_S,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"{where}: still running after {TIMEOUT_S} s"
    output = proc.stdout + proc.stderr
    if proc.returncode != command.exit_code:
        return (f"{where}: exit code {proc.returncode}, the page expects {command.exit_code}:"
                f"\n{output[-1500:]}")
    if not command.expect:
        return f"{where}: the page shows no output line for it (show one, or <!-- expect: -->)"
    regex = command.expect if command.quick else _expected_regex(command.expect)
    if not any(re.search(regex, line.strip()) for line in output.splitlines()):
        return f"{where}: no line of its output matches {command.expect!r}:\n{output[-1500:]}"
    return None


def _run_page(commands: list[Command], tmp: Path) -> list[str]:
    work, env = _workdir(tmp), _env(tmp)
    return [problem for c in commands if (problem := _run(c, work, env))]


def test_every_block_is_parsed_and_shows_what_to_expect() -> None:
    blocks = doc_blocks()
    commands = [c for b in blocks for c in b.commands]
    assert len(commands) >= 20, "the docs' command blocks were not found"
    missing = [f"{c.page}:{c.line}: `{c.text}`" for b in blocks if not b.hardware
               for c in b.commands if not c.expect and not c.text.startswith("pip install")]
    assert not missing, "commands without a shown output line:\n" + "\n".join(missing)


def _unchecked_commands(path: Path) -> list[str]:
    """Command-like code the test would not run: a bash/shell fence, or an indented block
    starting with a prompt or a command."""
    found, lines = [], path.read_text(encoding="utf-8").splitlines()
    fenced = False
    for n, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            if not fenced and re.match(r"^\s*```\s*(bash|shell|shell-session|zsh)\b", line):
                found.append(f"{path.relative_to(ROOT)}:{n + 1}: a {line.strip()} block")
            fenced = not fenced
        elif (not fenced and re.match(r"^ {4}(\$ |wphil |python |pip |pytest|npm )", line)
              and (n == 0 or not lines[n - 1].strip())):
            found.append(f"{path.relative_to(ROOT)}:{n + 1}: an indented `{line.strip()[:40]}`")
    return found


def test_commands_are_in_blocks_this_test_runs() -> None:
    """A command in a bash fence or an indented block would escape the test: write it as a
    `console` or `sh` block (marked `<!-- hardware -->` if it needs a bench), or as `text`
    if it is a synopsis rather than a command."""
    found = [hit for page in PAGES for hit in _unchecked_commands(page)]
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_every_documented_command_runs_as_written(tmp_path: Path) -> None:
    from wphil.drivers.rp2040_pico import missing

    why_no_pico = missing()
    by_page: dict[str, list[Command]] = {}
    skipped = []
    smoke_runs = set()      # a benchmark's --quick run, shown on two pages, runs once
    for block in doc_blocks():
        if block.hardware:
            continue
        for command in block.commands:
            text = _quick(command).text
            if re.fullmatch(r"python bench/\S+\.py --quick", text):
                if text in smoke_runs:
                    continue
                smoke_runs.add(text)
            if "rp2040://" in command.text and why_no_pico:
                skipped.append(command)
            else:
                by_page.setdefault(command.page, []).append(command)
    # the emulated Pico's page first: its commands take the longest, the rest run beside it
    pages = sorted(by_page, key=lambda p: "rp2040://" not in " ".join(c.text for c in by_page[p]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda i_page: _run_page(by_page[i_page[1]], tmp_path / str(i_page[0])),
                           enumerate(pages))
        problems = [p for page_problems in results for p in page_problems]
    assert not problems, "\n\n".join(problems)
    if skipped:
        pytest.skip(f"ran every documented command but {len(skipped)} on rp2040:// "
                    f"({why_no_pico})")
