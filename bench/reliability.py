"""The fault envelope: XOR trained through the real firmware (upy://) while the link drops,
flips and duplicates bytes, holds requests back, the board resets or is unplugged.

    python bench/reliability.py [--seeds 20] [--first-seed 1000] [--epochs 5]
                                [--multipliers 0.5,1,2,5,10]
                                [--kinds drop,flip,dup,delay,reset,vanish,all]
                                [--boards noisy,quiet] [--cap 120]
                                [--out bench/results/reliability] [--quick]
                                [--report "COMMANDS"]

The base rates are those of the README's example URL (drop, flip, dup 0.002 per byte;
delay 0.1, reset 0.03, vanish 0.03 per request written); each multiplier scales them
(capped at 1), each fault kind alone and all together, on the noisy board (read noise and
drift) and on the quiet one (noise=0&drift=0). Each cell runs fault seeds 1000, 1001, ...
(never the ones the tests use) and is compared with the clean run (same training seed, same
board): did the run complete, are its metric rows and final weights bit-identical, and how
long did it take against the clean run (slowdown: median and worst wall-time ratio; clean =
median of 3 clean runs). A run longer than `--cap` s is stopped and counts as not completed.
Only the quiet board can be expected to end identical after a reset or a vanish: the board
may have measured a request whose reply was then lost, and the noisy circuit measures again
with other noise.

Results go to OUT/runs.jsonl (one line per run, git-ignored, reused: a second call with more
seeds only runs the new ones), and, over every run in it, OUT/reliability.json,
OUT/reliability.md and OUT/reliability.png. `--report "COMMANDS"` runs nothing and only
tabulates OUT/runs.jsonl (sweeps run apart, their runs.jsonl joined), saying COMMANDS made it.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench
from wphil.drivers.errors import DeviceError, WphilError
from wphil.learning import TrainConfig
from wphil.runs import RunDir, RunSpec, execute

BASE_RATES = {"drop": 0.002, "flip": 0.002, "dup": 0.002, "delay": 0.1, "reset": 0.03,
              "vanish": 0.03}
KINDS = [*BASE_RATES, "all"]
MULTIPLIERS = [0.5, 1, 2, 5, 10]
BOARDS = {"noisy": "", "quiet": "&noise=0&drift=0"}
# the README's example URL: default timeout and reconnect (30 s, which a recovery at 2x the
# base rates needs: a run of replugs, 0.75 s each, can outlast 10 s)
BASE_URL = "upy://?"
TRAIN_SEED = 0
FIRST_FAULT_SEED = 1000
CLEAN_RUNS = 3


class OverCap(DeviceError):
    """The run took longer than the sweep allows one run."""


def faults_for(kind: str, multiplier: float) -> str:
    kinds = BASE_RATES if kind == "all" else {kind: BASE_RATES[kind]}
    return ",".join(f"{k}:{min(1.0, r * multiplier):g}" for k, r in kinds.items())


def one_run(folder: Path, url: str, epochs: int, cap: float) -> dict:
    bench = load_bench("xor-2-2-1")
    spec = RunSpec(url, bench, "xor", TrainConfig.for_bench(bench, epochs=epochs,
                                                           target_loss=1e-12, seed=TRAIN_SEED))
    rundir = RunDir.create(folder, spec.to_config())

    def over_cap(signum, frame):  # noqa: ANN001, ANN202
        raise OverCap(f"over the {cap:g} s cap")

    signal.signal(signal.SIGALRM, over_cap)
    signal.setitimer(signal.ITIMER_REAL, cap)
    start = time.perf_counter()
    try:
        summary, completed = execute(spec, rundir), True
    except WphilError as exc:
        summary, completed = {"error": str(exc)}, False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - start
    rows = [[r["epoch"], r["queries"], r["loss"], r["accuracy"]] for r in rundir.metrics()]
    weights = rundir.load_weights()[0].tolist() if completed else None
    stats = summary.get("device_stats", {})
    return {"completed": completed, "rows": rows, "weights": weights, "seconds": seconds,
            "error": summary.get("error"), "injected": sum(stats.get("faults_injected", {}).values()),
            "recoveries": stats.get("recoveries", 0)}


def clean_runs(tmp: Path, epochs: int, cap: float) -> dict:
    clean = {}
    for board, opts in BOARDS.items():
        runs = [one_run(tmp / f"clean-{board}-{i}", BASE_URL + opts, epochs, cap)
                for i in range(CLEAN_RUNS)]
        clean[board] = dict(runs[0], seconds=statistics.median(r["seconds"] for r in runs))
    return clean


def sweep(args: argparse.Namespace, out: Path) -> list[dict]:
    """Every (seed, multiplier, kind, board) run not in runs.jsonl yet; all of them."""
    log_path = out / "runs.jsonl"
    done = [json.loads(ln) for ln in log_path.read_text().splitlines()] if log_path.exists() else []
    have = {(r["seed"], r["multiplier"], r["kind"], r["board"]) for r in done}
    tmp = Path(tempfile.mkdtemp(prefix="wphil-reliability-"))
    clean = clean_runs(tmp, args.epochs, args.cap)
    with open(log_path, "a") as log_file:
        for i in range(args.seeds):                       # seeds outermost: stop any time
            seed = args.first_seed + i
            for mult in args.multipliers:
                for kind in args.kinds:
                    for board in args.boards:
                        if (seed, mult, kind, board) in have:
                            continue
                        faults = faults_for(kind, mult)
                        url = f"{BASE_URL}&faults={faults}&fault_seed={seed}{BOARDS[board]}"
                        run = one_run(tmp / f"{kind}-{mult}-{board}-{seed}", url, args.epochs,
                                      args.cap)
                        ref = clean[board]
                        record = {"seed": seed, "multiplier": mult, "kind": kind, "board": board,
                                  "faults": faults, "completed": run["completed"],
                                  "identical": bool(run["completed"] and run["rows"] == ref["rows"]
                                                    and run["weights"] == ref["weights"]),
                                  "slowdown": run["seconds"] / ref["seconds"],
                                  "injected": run["injected"], "recoveries": run["recoveries"],
                                  "error": run["error"], "epochs": args.epochs}
                        done.append(record)
                        log_file.write(json.dumps(record) + "\n")
                        log_file.flush()
                        print(f"seed {seed} x{mult:g} {kind:6s} {board}: completed="
                              f"{record['completed']} identical={record['identical']} "
                              f"slowdown={record['slowdown']:.1f}", file=sys.stderr, flush=True)
    return done


def table(records: list[dict]) -> list[dict]:
    cells: dict[tuple, list[dict]] = {}
    for r in records:
        cells.setdefault((r["kind"], r["multiplier"], r["board"]), []).append(r)
    rows = []
    for (kind, mult, board), runs in sorted(cells.items(), key=lambda c: (KINDS.index(c[0][0]),
                                                                          c[0][1], c[0][2])):
        slow = [r["slowdown"] for r in runs if r["completed"]]
        rows.append({"kind": kind, "multiplier": mult, "board": board, "faults": runs[0]["faults"],
                     "runs": len(runs), "completed": sum(r["completed"] for r in runs),
                     "identical": sum(r["identical"] for r in runs),
                     "median_slowdown": statistics.median(slow) if slow else None,
                     "worst_slowdown": max(slow) if slow else None,
                     "errors": sorted({(r["error"] or "")[:160] for r in runs if r["error"]})[:3]})
    return rows


def markdown(rows: list[dict], command: str) -> str:
    lines = [f"Made by `{command}`.", "",
             "| faults | × base | board | runs | completed | identical to clean | slowdown median "
             "| worst |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        med = "–" if r["median_slowdown"] is None else f"{r['median_slowdown']:.1f}"
        worst = "–" if r["worst_slowdown"] is None else f"{r['worst_slowdown']:.1f}"
        lines.append(f"| {r['kind']} (`{r['faults']}`) | {r['multiplier']:g} | {r['board']} "
                     f"| {r['runs']} | {r['completed']} | {r['identical']} | {med} | {worst} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    colours = dict(zip(KINDS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for kind in KINDS:
        for board, style in (("noisy", "-"), ("quiet", "--")):
            cell = sorted((r for r in rows if r["kind"] == kind and r["board"] == board),
                          key=lambda r: r["multiplier"])
            if not cell:
                continue
            x = [r["multiplier"] for r in cell]
            label = f"{kind} ({board})"
            line = {"linestyle": style, "marker": "o", "color": colours[kind], "label": label}
            axes[0].plot(x, [r["completed"] / r["runs"] for r in cell], **line)
            axes[1].plot(x, [r["identical"] / r["runs"] for r in cell], **line)
            axes[2].plot(x, [r["median_slowdown"] or np.nan for r in cell], **line)
    for ax, title in zip(axes, ("completion rate", "identical-to-clean rate",
                                "slowdown (median wall time / clean)")):
        ax.set_xscale("log")
        ax.set_xlabel("multiple of the README's base fault rates")
        ax.set_title(title)
        ax.axvline(2, color="grey", lw=0.5)
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=FIRST_FAULT_SEED)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--multipliers", default=",".join(f"{m:g}" for m in MULTIPLIERS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--cap", type=float, default=120.0, help="longest run, s")
    parser.add_argument("--out", default="bench/results/reliability")
    parser.add_argument("--report", metavar="COMMANDS",
                        help="run nothing: tabulate OUT/runs.jsonl, made by COMMANDS (the text)")
    add_quick(parser)
    args = parser.parse_args()
    args.multipliers = [float(m) for m in args.multipliers.split(",")]
    args.kinds = args.kinds.split(",")
    args.boards = args.boards.split(",")
    if args.quick:                     # one fault kind, one board, one seed, two epochs
        args.seeds, args.epochs, args.multipliers = 1, 2, [1.0]
        args.kinds, args.boards = args.kinds[:1], args.boards[:1]
        args.out = tempfile.mkdtemp(prefix="wphil-reliability-")
    if not set(args.kinds) <= set(KINDS) or not set(args.boards) <= set(BOARDS):
        parser.error(f"--kinds from {','.join(KINDS)}; --boards from {','.join(BOARDS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report:
        log_path = out / "runs.jsonl"
        records = [json.loads(ln) for ln in log_path.read_text().splitlines()]
        command = args.report
    else:
        records = sweep(args, out)
        command = "python " + " ".join(sys.argv)
    rows = table(records)
    (out / "reliability.json").write_text(json.dumps({"command": command, "base_rates": BASE_RATES,
                                                      "cells": rows}, indent=1))
    (out / "reliability.md").write_text(markdown(rows, command))
    plot(rows, out / "reliability.png")
    print(markdown(rows, command))


if __name__ == "__main__":
    main()
