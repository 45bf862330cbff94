"""The reliability table: XOR trained through the real firmware (upy://) while the link
drops, flips and duplicates bytes, stalls, the board resets or is unplugged.

    python bench/reliability.py [--seeds 20] [--epochs 25] [--json bench/results/reliability.json]
        [--quick]

Each fault runs with `seeds` fault seeds (1000, 1001, ...; never the ones the tests use)
and is compared with the clean run (same training seed, same board): did the run complete,
are its final weights and metric rows bit-identical, and how long did it take against the
clean run (median and worst wall-time ratio; clean = median of 5 clean runs). "Vanish"
kills the board process (an unplugged Pico loses power) and "reset" can strike after the
board measured a request but before its reply arrived: on the noisy board the circuit then
measures again, with other noise, so only the noise-free board ("quiet") can end identical.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench
from wphil.drivers.errors import WphilError
from wphil.learning import TrainConfig
from wphil.runs import RunDir, RunSpec, execute

QUIET = "&noise=0&drift=0"
README_RATES = "drop:0.002,flip:0.002,dup:0.002,reset:0.03"
FAULTS = [
    ("bytes dropped", "drop:0.002", "per byte", ""),
    ("bits flipped", "flip:0.002", "per byte", ""),
    ("bytes duplicated", "dup:0.002", "per byte", ""),
    ("request held back 0.5 s", "delay:0.1,delay_s:0.5", "per frame", ""),
    ("MCU reset", "reset:0.03", "per frame", QUIET),
    ("port vanishes 0.3 s", "vanish:0.03,vanish_s:0.3", "per frame", QUIET),
    ("README rates (noisy board)", README_RATES, "mixed", ""),
    ("README rates (quiet board)", README_RATES, "mixed", QUIET),
    ("all at once (quiet board)", "drop:0.001,flip:0.001,dup:0.001,delay:0.05,reset:0.01,"
     "vanish:0.01,vanish_s:0.3", "mixed", QUIET),
]
TRAIN_SEED = 0
FIRST_FAULT_SEED = 1000
CLEAN_RUNS = 5


def one_run(folder: Path, url: str, epochs: int) -> dict:
    bench = load_bench("xor-2-2-1")
    spec = RunSpec(url, bench, "xor", TrainConfig.for_bench(bench, epochs=epochs,
                                                           target_loss=1e-12, seed=TRAIN_SEED))
    rundir = RunDir.create(folder, spec.to_config())
    start = time.perf_counter()
    try:
        summary = execute(spec, rundir)
        completed = True
    except WphilError as exc:
        summary, completed = {"error": str(exc)}, False
    seconds = time.perf_counter() - start
    rows = [(r["epoch"], r["queries"], r["loss"], r["accuracy"]) for r in rundir.metrics()]
    weights = rundir.load_weights()[0] if completed else None
    return {"completed": completed, "rows": rows, "weights": weights, "seconds": seconds,
            "error": summary.get("error"), "stats": summary.get("device_stats", {})}


def fault_row(tmp: Path, base: str, fault: tuple, clean: dict, seeds: int, epochs: int) -> dict:
    name, faults, unit, board = fault
    ref = clean[board]
    row = {"fault": name, "faults": faults, "unit": unit, "board": "quiet" if board else "noisy",
           "seeds": seeds, "completed": 0, "identical": 0, "injected": 0, "recoveries": 0,
           "errors": [], "ratios": []}
    for i in range(seeds):
        seed = FIRST_FAULT_SEED + i
        run = one_run(tmp / f"{name}-{seed}", f"{base}&faults={faults}&fault_seed={seed}{board}",
                      epochs)
        row["completed"] += run["completed"]
        row["identical"] += bool(run["completed"] and run["rows"] == ref["rows"]
                                 and np.array_equal(run["weights"], ref["weights"]))
        row["injected"] += sum(run["stats"].get("faults_injected", {}).values())
        row["recoveries"] += run["stats"].get("recoveries", 0)
        row["ratios"].append(run["seconds"] / ref["seconds"])
        if run["error"]:
            row["errors"].append(f"fault_seed {seed}: {run['error']}")
    row["median_ratio"] = statistics.median(row["ratios"])
    row["worst_ratio"] = max(row["ratios"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    faults, clean_runs = FAULTS, CLEAN_RUNS
    if args.quick:                     # one fault, one seed, two epochs, one clean run
        args.seeds, args.epochs, faults, clean_runs = 1, 2, FAULTS[:1], 1
    tmp = Path(tempfile.mkdtemp(prefix="wphil-reliability-"))
    base = "upy://?reconnect=30"
    clean = {}
    for board in ("", QUIET):
        runs = [one_run(tmp / f"clean{bool(board)}-{i}", base + board, args.epochs)
                for i in range(clean_runs)]
        clean[board] = dict(runs[0], seconds=statistics.median(r["seconds"] for r in runs))
    t0 = time.perf_counter()
    table = [fault_row(tmp, base, f, clean, args.seeds, args.epochs) for f in faults]
    print(f"XOR on upy://, {args.epochs} epochs per run, fault seeds {FIRST_FAULT_SEED}.."
          f"{FIRST_FAULT_SEED + args.seeds - 1}, clean run {clean[''][ 'seconds']:.2f} s "
          f"(quiet {clean[QUIET]['seconds']:.2f} s); {time.perf_counter() - t0:.0f} s in all\n")
    print("| fault | rate | board | seeds | completed | identical to clean "
          "| wall time / clean: median | worst | faults injected | reconnects |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['fault']} | {r['faults']} ({r['unit']}) | {r['board']} | {r['seeds']} "
              f"| {r['completed']} | {r['identical']} | {r['median_ratio']:.1f} "
              f"| {r['worst_ratio']:.1f} | {r['injected']} | {r['recoveries']} |")
    for r in table:
        for err in r["errors"]:
            print(f"{r['fault']}: {err}")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
