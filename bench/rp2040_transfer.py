"""Codes trained on upy:// replayed on rp2040://, the same bench and board seed: does the
emulated Pico's circuit (integrated on its own clock, its inputs paced by the firmware)
hold what upy:// (no clock) trained?

    python bench/rp2040_transfer.py [--bench delayed-xor] [--seeds 1,3,9] [--jobs 3]
        [--out DIR] [--json FILE] [--quick]

Per seed: `wphil train --device "upy://?seed=<100+seed>" --bench B --seed <seed>` (the
bench's defaults, as bench/sequence_learning.py), then its final codes scored by the task's
own objective on that upy:// and on `rp2040://?seed=<100+seed>&board=xfer-<seed>` (the
default board seed on both; --quick: board xfer-quick). --json FILE also writes FILE's
table as Markdown beside it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from seed_runs import seed_runs_main

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap, SequenceObjective, load_task
from wphil.runs.rundir import RunDir


def score(url: str, bench_name: str, codes) -> dict:
    bench = load_bench(bench_name)
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    with open_device(url, bench) as dev:
        result = SequenceObjective(dev, bench, load_task(bench.bench.task),
                                   CodeMap(bench)).evaluate(codes)
    return {"accuracy": result.accuracy, "loss": result.loss,
            "rms_lsb": math.sqrt(result.loss) / lsb}


def one_seed(bench: str, seed: int, epochs: int, folder: Path, board: str) -> dict:
    out = folder / f"upy-seed-{seed}"
    upy = f"upy://?seed={100 + seed}"
    command = [sys.executable, "-m", "wphil", "train", "--device", upy, "--bench", bench,
               "--seed", str(seed), "--out", str(out), "--no-progress"]
    command += ["--epochs", str(epochs)] if epochs else []
    row = {"seed": seed, "command": " ".join(command[1:])}
    if not (out / "summary.json").exists():      # (a finished run in --out is scored again)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            return dict(row, error=(done.stderr.strip().splitlines() or ["no output"])[-1])
    summary = json.loads((out / "summary.json").read_text())
    _, codes = RunDir.reopen(out).load_weights()
    return dict(row, summary=summary, codes=[int(c) for c in codes],
                upy=score(upy, bench, codes),
                rp2040=score(f"rp2040://?seed={100 + seed}&board={board.format(seed=seed)}",
                              bench, codes))


def table(bench: str, rows: list[dict]) -> str:
    target = load_bench(bench).defaults
    lines = [f"bench {bench}: codes trained on upy:// replayed on rp2040:// (same board seed; "
             f"target: accuracy {target.target_accuracy} and loss <= {target.target_loss} V^2)",
             "seed  upy stop    epochs  | upy: accuracy  loss V^2  RMS LSB | rp2040: accuracy"
             "  loss V^2  RMS LSB  target"]
    hit = 0
    for r in rows:
        if "error" in r:
            lines.append(f"{r['seed']:>4}  failed: {r['error']}")
            continue
        s, u, p = r["summary"], r["upy"], r["rp2040"]
        ok = p["accuracy"] >= target.target_accuracy and p["loss"] <= target.target_loss
        hit += ok
        lines.append(f"{r['seed']:>4}  {s['stop_reason']:<10} {s['epochs']:>6}  | "
                     f"{u['accuracy']:>13.3f}  {u['loss']:>8.4f}  {u['rms_lsb']:>7.1f} | "
                     f"{p['accuracy']:>16.3f}  {p['loss']:>8.4f}  {p['rms_lsb']:>7.1f}  "
                     f"{'met' if ok else 'missed'}")
    lines.append(f"upy-trained codes at the target on rp2040://: {hit} of {len(rows)} seeds")
    return "\n".join(lines)


def main() -> None:
    seed_runs_main(__doc__, one_seed, table, "xfer")


if __name__ == "__main__":
    main()
