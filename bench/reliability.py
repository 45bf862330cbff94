"""The reliability table: XOR trained through the real firmware (upy://) while the link
drops, flips and duplicates bytes, stalls, the board resets or is unplugged.

    python bench/reliability.py [--runs 5] [--epochs 25] [--json bench/results/reliability.json]

For each fault, `runs` runs (seed s: --seed s, fault_seed s) are compared with the clean run
of the same seed: did the run complete, are its final weights bit-identical, and are its
metric rows complete (every epoch once) and equal. "Vanish" kills the board process (an
unplugged Pico loses power): on the noisy board the simulated circuit's noise restarts with
it, so only the noise-free board ("quiet") can end identical.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from wphil.drivers import load_bench
from wphil.drivers.errors import WphilError
from wphil.learning import TrainConfig
from wphil.runs import RunDir, RunSpec, execute

FAULTS = [
    ("bytes dropped", "drop:0.002", "per byte", ""),
    ("bits flipped", "flip:0.002", "per byte", ""),
    ("bytes duplicated", "dup:0.002", "per byte", ""),
    ("reply late (0.5 s > timeout)", "delay:0.1,delay_s:0.5", "per request", ""),
    ("MCU reset", "reset:0.03", "per request", ""),
    ("port vanishes 0.3 s (noisy board)", "vanish:0.03,vanish_s:0.3", "per request", ""),
    ("port vanishes 0.3 s (quiet board)", "vanish:0.03,vanish_s:0.3", "per request",
     "&noise=0&drift=0"),
    ("all of the above at once (noisy board)", "drop:0.001,flip:0.001,dup:0.001,delay:0.05,"
     "reset:0.01,vanish:0.01,vanish_s:0.3", "mixed", ""),
    ("all of the above at once (quiet board)", "drop:0.001,flip:0.001,dup:0.001,delay:0.05,"
     "reset:0.01,vanish:0.01,vanish_s:0.3", "mixed", "&noise=0&drift=0"),
]


def one_run(folder: Path, url: str, seed: int, epochs: int) -> dict:
    bench = load_bench("xor-2-2-1")
    spec = RunSpec(url, bench, "xor",
                   TrainConfig.for_bench(bench, epochs=epochs, target_loss=1e-12, seed=seed))
    rundir = RunDir.create(folder, spec.to_config())
    try:
        summary = execute(spec, rundir)
        completed = True
    except WphilError as exc:
        summary, completed = {"error": str(exc)}, False
    rows = [(r["epoch"], r["queries"], r["loss"], r["accuracy"]) for r in rundir.metrics()]
    weights = rundir.load_weights()[0] if completed else None
    return {"completed": completed, "rows": rows, "weights": weights,
            "stats": summary.get("device_stats", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wphil-reliability-"))
    base = "upy://?timeout=0.3&reconnect=10"
    clean = {(s, q): one_run(tmp / f"clean-{s}{bool(q)}", f"{base}{q}", s, args.epochs)
             for s in range(args.runs) for q in ("", "&noise=0&drift=0")}
    table = []
    t0 = time.perf_counter()
    for name, faults, unit, quiet in FAULTS:
        row = {"fault": name, "faults": faults, "unit": unit, "runs": args.runs, "completed": 0,
               "identical": 0, "rows_lost": 0, "injected": 0, "recoveries": 0}
        for s in range(args.runs):
            url = f"{base}&faults={faults}&fault_seed={s}{quiet}"
            run = one_run(tmp / f"{len(table)}-{s}", url, s, args.epochs)
            ref = clean[(s, quiet)]
            epochs = [int(r[0]) for r in run["rows"]]
            expected = list(range(1, args.epochs + 1))
            row["rows_lost"] += len(set(expected) - set(epochs)) + len(epochs) - len(set(epochs))
            row["completed"] += run["completed"]
            row["identical"] += bool(run["completed"] and run["rows"] == ref["rows"]
                                     and np.array_equal(run["weights"], ref["weights"]))
            row["injected"] += sum(run["stats"].get("faults_injected", {}).values())
            row["recoveries"] += run["stats"].get("recoveries", 0)
        table.append(row)
    print(f"XOR on upy://, {args.epochs} epochs per run, {time.perf_counter() - t0:.0f} s\n")
    print("| fault | rate | runs | completed | final weights and metrics = clean run "
          "| metric rows lost | faults injected | reconnects |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['fault']} | {r['faults']} ({r['unit']}) | {r['runs']} | {r['completed']} "
              f"| {r['identical']} | {r['rows_lost']} | {r['injected']} | {r['recoveries']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
