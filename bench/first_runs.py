"""Each shipped bench's default run (`wphil train --bench NAME` on mock://, every other option
at the bench's default) over seeds 0-9: does it reach the bench's own target, and how long does
it take?  Writes bench/results/first_runs.json and .md.

    python bench/first_runs.py                 # every shipped bench, seeds 0-9, 2 at a time
    python bench/first_runs.py --bench delayed-xor --seeds 10 --jobs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from script_args import add_quick, at_least

BENCHES = ("xor-2-2-1", "parity4", "iris", "delayed-xor", "oscillator-2")
RESULTS = Path(__file__).parent / "results"


def one_run(bench: str, seed: int, tmp: Path) -> dict:
    """Run `wphil train --bench BENCH --seed SEED` in a subprocess, the way a user would."""
    out = tmp / f"{bench}-{seed}"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "wphil", "train", "--bench", bench, "--seed", str(seed),
                    "--out", str(out), "--no-progress"], check=False, capture_output=True)
    wall = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    return {"bench": bench, "seed": seed, "converged": bool(summary["converged"]),
            "epochs": summary["epochs"], "loss": summary["loss"], "accuracy": summary["accuracy"],
            "wall_s": round(wall, 1)}


def table(rows: list[dict]) -> str:
    lines = ["| bench | reached target | default seed 0 | epochs (median) | wall s (median, max) |",
             "|---|---|---|---|---|"]
    for bench in dict.fromkeys(row["bench"] for row in rows):
        runs = sorted((r for r in rows if r["bench"] == bench), key=lambda r: r["seed"])
        hits = sum(r["converged"] for r in runs)
        seed0 = next((r for r in runs if r["seed"] == 0), None)
        epochs = sorted(r["epochs"] for r in runs)
        walls = sorted(r["wall_s"] for r in runs)
        lines.append(f"| {bench} | {hits}/{len(runs)} | "
                     f"{'yes' if seed0 and seed0['converged'] else 'no'} | "
                     f"{epochs[len(epochs) // 2]} | {walls[len(walls) // 2]}, {walls[-1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="append", choices=BENCHES)
    parser.add_argument("--seeds", type=at_least(1), default=10)
    parser.add_argument("--jobs", type=at_least(1), default=2)
    parser.add_argument("--name", default="first_runs", help="results file stem")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:                     # one default run of the first bench, nothing written
        args.bench, args.seeds = [BENCHES[0]], 1
    benches = args.bench or list(BENCHES)
    jobs = [(bench, seed) for bench in benches for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda job: one_run(*job, Path(tmp)), jobs))
    command = "python bench/first_runs.py " + " ".join(sys.argv[1:])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    stamp = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
             "commit": commit, "machine": f"{platform.machine()} {platform.processor()}".strip(),
             "command": command.strip(), "load_average": round(os.getloadavg()[0], 1)}
    text = (f"# Default runs on mock://, seeds 0-{args.seeds - 1}\n\n`{stamp['command']}` "
            f"({stamp['date']}, commit {commit})\n\n{table(rows)}\n\nwall s: each run's "
            f"subprocess, Python start included, {args.jobs} at a time; it follows the machine's "
            f"load (1-minute load average {stamp['load_average']} on {os.cpu_count()} cores at "
            "the end). Epochs do not.\n")
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.name}.json").write_text(json.dumps({**stamp, "runs": rows}, indent=1))
        (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
