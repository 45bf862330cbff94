"""A recurrent bench trained on the emulated Pico: `wphil train --device rp2040://` per seed,
then the trained codes replayed once more on the same board for the pacing figures, which
come from the emulated clock (the firmware's own ticks_us).

    python bench/rp2040_recurrent.py [--bench delayed-xor] [--seeds 1,3,9] [--epochs N]
        [--jobs 3] [--out DIR] [--json FILE] [--quick]

--json FILE also writes FILE's table as Markdown beside it (FILE with .md).

Each seed runs `wphil train --device "rp2040://?seed=<100+seed>&board=rnn-<seed>" --bench B
--seed <seed>` (the read-noise seed as bench/sequence_learning.py and `wphil bench learn`
use; one emulated Pico per seed, so seeds run in parallel), into DIR/seed-<seed>. The table:
stop reason, epochs, queries, the final accuracy and RMS error in ADC LSB, the wall time,
and from the replay: the emulated time per sequence (reset plus the paced steps), the
achieved step period, the overruns and the worst lateness.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

from seed_runs import seed_runs_main

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap, SequenceObjective, load_task
from wphil.runs.rundir import RunDir


def url(seed: int, board: str) -> str:
    """One emulated Pico per seed, `board` with {seed} replaced (--quick: "rnn-quick")."""
    return f"rp2040://?seed={100 + seed}&board={board.format(seed=seed)}"


def train(bench: str, seed: int, epochs: int, out: Path, board: str) -> dict:
    command = [sys.executable, "-m", "wphil", "train", "--device", url(seed, board), "--bench",
               bench,
               "--seed", str(seed), "--out", str(out), "--no-progress"]
    command += ["--epochs", str(epochs)] if epochs else []
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    row = {"seed": seed, "command": " ".join(command[1:]), "wall_s": wall}
    if done.returncode:             # a failed run is a row of the table, not the end of it
        return dict(row, error=(done.stderr.strip().splitlines() or ["no output"])[-1])
    return dict(row, summary=json.loads((out / "summary.json").read_text()))


def replay(bench_name: str, seed: int, out: Path, board: str) -> dict:
    """The final codes, replayed once per sequence of the task: scores and pacing."""
    bench = load_bench(bench_name)
    _, codes = RunDir.reopen(out).load_weights()
    lsb = bench.adc.vref / (1 << bench.adc.bits)
    paced, overruns, late = [], 0, 0
    with open_device(url(seed, board), bench) as dev:
        objective = SequenceObjective(dev, bench, load_task(bench.bench.task), CodeMap(bench))
        result = objective.evaluate(codes)
        for s in range(objective.n_patterns):       # one replay each, for its pacing
            steps = len(objective.input_codes[s])
            dev.evaluate_sequence(objective.input_codes[s], codes)
            t = dev.sequence_timing
            paced.append(t["period_us"] * steps)
            overruns += int(t["overruns"])
            late = max(late, int(t["max_late_us"]))
    per_sequence = bench.recurrent.reset_us + sum(paced) / len(paced)
    return {"accuracy": result.accuracy, "rms_lsb": math.sqrt(result.loss) / lsb,
            "emulated_us_per_sequence": per_sequence, "step_us": bench.recurrent.step_us,
            "period_us": sum(paced) / len(paced) / steps, "overruns": overruns,
            "max_late_us": late}


def one_seed(bench: str, seed: int, epochs: int, folder: Path, board: str) -> dict:
    out = folder / f"seed-{seed}"
    row = train(bench, seed, epochs, out, board)
    if "error" not in row:
        row["replay"] = replay(bench, seed, out, board)
    return row


def table(bench: str, rows: list[dict]) -> str:
    lsb_target = load_bench(bench).defaults.target_loss
    lines = [f"bench {bench} on rp2040:// (wphil train, the bench's defaults; target: accuracy "
             f"1.0 and loss <= {lsb_target} V^2)",
             "seed  stop        epochs   queries  accuracy  RMS LSB   wall s   emulated ms/seq"
             "  period us  overruns  worst late us"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['seed']:>4}  failed: {r['error']}")
            continue
        s, p = r["summary"], r["replay"]
        lines.append(f"{r['seed']:>4}  {s['stop_reason']:<10} {s['epochs']:>7} {s['queries']:>9,}"
                     f"  {p['accuracy']:>8.3f}  {p['rms_lsb']:>7.1f}  {r['wall_s']:>7.0f}"
                     f"  {p['emulated_us_per_sequence'] / 1000:>16.2f}  {p['period_us']:>9.1f}"
                     f"  {p['overruns']:>8}  {p['max_late_us']:>13}")
    hit = sum(r.get("summary", {}).get("stop_reason") == "converged" for r in rows)
    lines.append(f"reached the target: {hit} of {len(rows)} seeds")
    return "\n".join(lines)


def main() -> None:
    seed_runs_main(__doc__, one_seed, table, "rnn")


if __name__ == "__main__":
    main()
