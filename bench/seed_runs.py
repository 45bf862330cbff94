"""What bench/rp2040_recurrent.py and bench/rp2040_transfer.py share: the command line (a
bench, seeds, epochs, parallel jobs, --out, --json, --quick), one emulated-Pico row per
seed run in parallel, and the table printed and written as JSON and Markdown."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from results_stamp import stamp
from script_args import add_quick, at_least, seed_list, usage_errors

from wphil.drivers import load_bench
from wphil.drivers.rp2040_pico import missing

#: one_seed(bench name, seed, epochs (0: the bench's), folder, board name pattern) -> row
OneSeed = Callable[[str, int, int, Path, str], dict]


def seed_runs_main(doc: str, one_seed: OneSeed, table: Callable[[str, list[dict]], str],
                   board: str) -> None:
    """Parse the command line, run `one_seed` per seed on the emulated Pico named
    `board`-{seed} (`board`-quick with --quick), print `table` and write it with --json
    (FILE, and FILE's table as Markdown beside it)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--bench", default="delayed-xor")
    parser.add_argument("--seeds", type=seed_list, default="1,3,9",
                        help="comma-separated training seeds")
    parser.add_argument("--epochs", type=at_least(0), default=0, help="0: the bench's")
    parser.add_argument("--jobs", type=at_least(1), default=1)
    parser.add_argument("--out", help="folder for the run directories (default: a temporary one)")
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    reason = missing()
    if reason:
        parser.exit(0, f"rp2040:// is not available here: {reason}\n")
    with usage_errors(parser):
        bench = load_bench(args.bench)
    seeds = args.seeds
    if args.quick:                      # one seed, one epoch: the whole path, not a result
        seeds, args.epochs, args.out, args.json = seeds[:1], 1, None, None
    name = f"{board}-quick" if args.quick else board + "-{seed}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(lambda s: one_seed(bench.name, s, args.epochs, folder, name),
                                 seeds))
    text = table(bench.name, rows)
    print(text)
    if args.json:
        made = stamp()
        Path(args.json).write_text(json.dumps({"stamp": made, "rows": rows}, indent=1) + "\n")
        Path(args.json).with_suffix(".md").write_text(
            f"# {made['command']}   ({made['date']}, {made['commit']}, {made['machine']})\n\n"
            f"```\n{text}\n```\n")
