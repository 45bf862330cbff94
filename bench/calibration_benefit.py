"""Does a measured DAC calibration make in-loop training cheaper? Queries to target, with and without.

    python bench/calibration_benefit.py [--bench xor-2-2-1] [--profile harsh] [--boards 20]
        [--seeds 5] [--no-stuck] [--json bench/results/calibration-xor-harsh.json]

For each simulated board (board seed b = 1000 + i: its own DAC gain/offset/INL draw), the
DAC channels are calibrated the way `wphil calibrate` does it (the simulated 34461A on a
localhost socket, opened through pyvisa-py, probing the mock's DAC outputs; the table
written and attached to the bench as a bench file would). Then the bench's default
training runs for each seed s (init `--seed s`, read noise `mock://?seed=100+s`) on that
board twice, without and with the table: same board, same seed, paired. A run that does
not reach the bench's targets within its epoch limit is a failure; medians of queries
are over successful runs, and the paired comparison counts a failure as the whole budget.
Also reported: how well each calibration predicts the board's true DAC volts (LSB).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from drivers import load_bench, open_device
from drivers.bench import Bench
from drivers.caltable import attach_table
from drivers.instruments import Keysight34461A, open_instrument
from drivers.instruments.probe import ProbeDmm
from host.calibration import DEFAULT_POINTS, calibrate, sweep_codes, write_table
from host.tasks import load_task
from host.train import TrainConfig, Trainer


def calibrated(bench: Bench, url: str, folder: Path) -> tuple[Bench, float]:
    """The bench with this board's measured table attached; and the table's worst error (LSB)."""
    channels = sorted(set(bench.wiring.weights + bench.wiring.inputs))
    with open_device(url, bench) as dev, ProbeDmm(dev) as probe:
        dmm = open_instrument(Keysight34461A, probe.resource)
        try:
            table = calibrate(dev, dmm, channels, DEFAULT_POINTS, probe.connect)
        finally:
            dmm.close()
        worst = fit_error_lsb(dev, table)
    write_table(folder / "cal.toml", table)
    with_table = dataclasses.replace(
        bench, calibration=dataclasses.replace(bench.calibration, table="cal.toml"))
    return attach_table(with_table, folder), worst


def fit_error_lsb(dev, table) -> float:  # noqa: ANN001
    """Largest |fitted line - true DAC volts| over every code of the swept range, in LSB."""
    bench = dev.bench
    lsb = bench.dac.vref / (1 << bench.dac.bits)
    codes = sweep_codes(bench, DEFAULT_POINTS)
    every = np.arange(codes[0], codes[-1] + 1)
    worst = 0.0
    for line in table.good():
        true = np.array([dev.network.channel_volts(line.channel, int(c)) for c in every])
        fit = line.volts_per_code * every + line.offset_volts
        worst = max(worst, float(np.max(np.abs(fit - true)) / lsb))
    return worst


def train_once(bench: Bench, url: str, seed: int) -> tuple[bool, int]:
    task = load_task(bench.bench.task)
    with open_device(url, bench) as dev:
        trainer = Trainer(dev, bench, task, TrainConfig.for_bench(bench, seed=seed))
        for _ in trainer.run():
            pass
    return trainer.stop_reason == "converged", trainer.state.queries


def summarise(runs: list[tuple[bool, int]]) -> dict:
    ok = [q for good, q in runs if good]
    return {"converged": len(ok), "runs": len(runs),
            "median_queries": float(np.median(ok)) if ok else None,
            "mean_queries": float(np.mean(ok)) if ok else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="xor-2-2-1")
    parser.add_argument("--profile", default="harsh")
    parser.add_argument("--boards", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-stuck", action="store_true",
                        help="override [sim] stuck_dac_channels = [] (harsh minus its stuck weight)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    overrides = {"sim": {"stuck_dac_channels": []}} if args.no_stuck else None
    bench = load_bench(args.bench, args.profile, overrides)
    t0 = time.perf_counter()
    plain, cal, fit_errors, pairs = [], [], [], []
    for i in range(args.boards):
        board = 1000 + i
        with tempfile.TemporaryDirectory() as tmp:
            cal_bench, worst = calibrated(bench, f"mock://?board_seed={board}", Path(tmp))
        fit_errors.append(worst)
        for s in range(args.seeds):
            url = f"mock://?seed={100 + s}&board_seed={board}"
            a, b = train_once(bench, url, s), train_once(cal_bench, url, s)
            plain.append(a)
            cal.append(b)
            pairs.append((a, b))
        print(f"board {board}: worst fit error {worst:.3f} LSB", file=sys.stderr)
    budget = max(q for _, q in plain + cal)
    cost = [(qa if ok_a else budget, qb if ok_b else budget) for (ok_a, qa), (ok_b, qb) in pairs]
    result = {
        "bench": args.bench, "profile": args.profile, "stuck_channel": not args.no_stuck,
        "boards": args.boards, "seeds_per_board": args.seeds,
        "dac_gain_mismatch": bench.sim.dac_gain_mismatch, "dac_bits": bench.dac.bits,
        "without_calibration": summarise(plain), "with_calibration": summarise(cal),
        "pairs_calibration_fewer_queries": sum(b < a for a, b in cost),
        "pairs_equal": sum(b == a for a, b in cost), "pairs": len(cost),
        "median_paired_ratio": float(np.median([b / a for a, b in cost])),
        "calibration_worst_fit_error_lsb": max(fit_errors),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def print_table(r: dict) -> None:
    name = f"{r['bench']} {r['profile']}" + ("" if r["stuck_channel"] else " (no stuck channel)")
    print("| bench | calibration | converged | median queries | mean queries |")
    print("|---|---|---:|---:|---:|")
    for label, key in (("none (nominal line)", "without_calibration"),
                       ("measured table", "with_calibration")):
        s = r[key]
        med = f"{s['median_queries']:,.0f}" if s["median_queries"] is not None else "-"
        mean = f"{s['mean_queries']:,.0f}" if s["mean_queries"] is not None else "-"
        print(f"| {name} | {label} | {s['converged']}/{s['runs']} | {med} | {mean} |")
    print(f"\npaired (same board, same seed): calibration used fewer queries in "
          f"{r['pairs_calibration_fewer_queries']}/{r['pairs']} pairs (equal in {r['pairs_equal']}), "
          f"median ratio with/without {r['median_paired_ratio']:.2f}; calibration's worst "
          f"fit error {r['calibration_worst_fit_error_lsb']:.3f} LSB; {r['wall_s']} s")


if __name__ == "__main__":
    main()
