"""What the benchmark scripts share on their command lines: argparse types that refuse a
bad count in one line, and bad input (an unknown bench, a malformed URL) reported as a
usage error rather than a traceback."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from wphil.drivers.errors import ConfigError


def at_least(low: int):  # noqa: ANN201
    """argparse type: an integer >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value
    return parse


@contextlib.contextmanager
def usage_errors(parser: argparse.ArgumentParser) -> Iterator[None]:
    """Turn wphil's ConfigError (bad bench, task or URL) into the parser's one-line error."""
    try:
        yield
    except ConfigError as exc:
        parser.error(str(exc))


#: what `--quick` means for every script under bench/ (tests/test_bench_scripts.py runs each)
QUICK_HELP = ("a smoke run: the tiniest case (one bench, one board, one seed, few passes), "
              "in seconds; its numbers are not results and nothing is written without --json")


def add_quick(parser: argparse.ArgumentParser) -> None:
    """The `--quick` option every benchmark script has."""
    parser.add_argument("--quick", action="store_true", help=QUICK_HELP)


def table_parser(doc: str, what: str = "table") -> argparse.ArgumentParser:
    """The parser of a script that measures one table: its description (the docstring's
    first line), `--json` and `--md` for where to write it, and `--quick`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", type=Path, help=f"write the {what} here")
    parser.add_argument("--md", type=Path, help=f"write the Markdown {what} here")
    add_quick(parser)
    return parser


def seed_list(text: str) -> list[int]:
    """argparse type: comma-separated seeds, each an integer >= 0."""
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "integers") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seeds are integers >= 0")
    return seeds
