"""Does a measured DAC calibration make in-loop training cheaper? Queries to target, with and without.

    python bench/calibration_benefit.py [--bench xor-2-2-1] [--profile harsh] [--boards 20]
        [--seeds 10] [--init-scales 0.5 0.8 1.1 1.4] [--offline] [--no-stuck] [--json FILE]
        [--channels wired|weights|inputs] [--calibration-only] [--quick]

For each simulated board (board seed b = 1000 + i: its own DAC gain/offset/INL draw), the
DAC channels are calibrated the way `wphil calibrate` does it (the simulated 34461A on a
localhost socket, opened through pyvisa-py, probing the mock's DAC outputs; the table
written and attached to the bench as a bench file would). Then, for each seed s (weights
`--seed s`, read noise `mock://?seed=100+s`), the same training runs on that board without
and with the table: paired, same board, same seed.

- from scratch: the bench's training defaults, for each `--init-scales` value (weights
  start uniform in +-init_scale weight units, as the host means them);
- `--offline`: weights trained first by backpropagation on the ideal model (the bench's
  schematic), loaded onto the board, then fine-tuned in the loop. Reported: the accuracy
  as loaded (the reality gap) and the queries of the fine-tuning to the target.

A run that misses the bench's targets within its epoch limit is a failure; medians of
queries are over successful runs; the paired comparison counts a failure as the budget.
Also reported: the worst error of any calibration against the board's true DAC volts.
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
from results_stamp import stamp
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.drivers.bench import Bench
from wphil.drivers.caltable import attach_table
from wphil.drivers.instruments import Keysight34461A, open_instrument
from wphil.drivers.instruments.probe import ProbeDmm
from wphil.lab import DEFAULT_POINTS, calibrate, sweep_codes, write_table
from wphil.learning import IdealModel, Task, TrainConfig, Trainer, TrainState, load_task


def calibrated(bench: Bench, url: str, folder: Path, which: str = "wired") -> tuple[Bench, float]:
    """The bench with this board's measured table attached; and the table's worst error (LSB).
    `which`: the channels calibrated: "wired" (weights and inputs), "weights" or "inputs"."""
    wiring = bench.wiring
    channels = sorted({"wired": wiring.weights + wiring.inputs, "weights": wiring.weights,
                       "inputs": wiring.inputs}[which])
    with open_device(url, bench) as dev, ProbeDmm(dev) as probe:
        dmm = open_instrument(Keysight34461A, probe.resource)
        try:
            table = calibrate(dev, dmm, channels, DEFAULT_POINTS, probe.connect)
        finally:
            dmm.close()
        lsb = bench.dac.vref / (1 << bench.dac.bits)
        codes = sweep_codes(bench, DEFAULT_POINTS)
        every = np.arange(codes[0], codes[-1] + 1)
        worst = max(float(np.max(np.abs(
            line.volts_per_code * every + line.offset_volts
            - np.array([dev.network.channel_volts(line.channel, int(c)) for c in every])))) / lsb
            for line in table.good())
    write_table(folder / "cal.toml", table)
    with_table = dataclasses.replace(
        bench, calibration=dataclasses.replace(bench.calibration, table="cal.toml"))
    return attach_table(with_table, folder), worst


def offline_weights(bench: Bench, task: Task, seed: int, init_scale: float) -> np.ndarray | None:
    """Backpropagation on the ideal model from the seed's initial weights, until it meets the
    bench's targets with a 4x loss margin; None if it does not within 20000 steps."""
    model = IdealModel(bench)
    low, high = bench.calibration.input_volts
    signals, targets = low + task.features * (high - low), task.targets(bench)
    rng = np.random.Generator(np.random.PCG64(seed))
    weights = rng.uniform(-init_scale, init_scale, bench.n_weights)
    target = bench.defaults
    for step in range(20000):
        loss, grad = model.gradient(weights, signals, targets)
        if step % 100 == 0 and (target.target_loss <= 0 or loss < target.target_loss / 4):
            out = model.forward(weights, signals)[-1]
            if np.mean(task.predict(out, bench) == task.labels) >= target.target_accuracy:
                return weights
        weights -= 0.5 * grad
    return None


def train_once(bench: Bench, task: Task, url: str, seed: int, init_scale: float,
               start: np.ndarray | None = None) -> tuple[bool, int, float]:
    """(converged, queries, accuracy before the first step) of one run."""
    config = TrainConfig.for_bench(bench, seed=seed, init_scale=init_scale)
    with open_device(url, bench) as dev:
        state = None
        if start is not None:
            rng_state = np.random.Generator(np.random.PCG64(seed)).bit_generator.state
            state = TrainState(weights=start.copy(), rng_state=rng_state)
        trainer = Trainer(dev, bench, task, config, state)
        first = trainer.objective.evaluate(trainer.codes()).accuracy    # not counted by run()
        for _ in trainer.run():
            pass
    return trainer.stop_reason == "converged", trainer.state.queries, first


def summarise(runs: list[tuple[bool, int, float]]) -> dict:
    ok = [q for good, q, _ in runs if good]
    return {"converged": len(ok), "runs": len(runs),
            "median_queries": float(np.median(ok)) if ok else None,
            "mean_queries": float(np.mean(ok)) if ok else None,
            "median_accuracy_at_start": float(np.median([a for _, _, a in runs]))}


def compare(plain: list, cal: list) -> dict:
    budget = max(q for _, q, _ in plain + cal)
    cost = [(qa if ok_a else budget, qb if ok_b else budget)
            for (ok_a, qa, _), (ok_b, qb, _) in zip(plain, cal)]
    return {"without": summarise(plain), "with": summarise(cal), "pairs": len(cost),
            "pairs_calibration_fewer_queries": sum(b < a for a, b in cost),
            "pairs_calibration_more_queries": sum(b > a for a, b in cost),
            "median_paired_ratio": float(np.median([b / a for a, b in cost]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="xor-2-2-1")
    parser.add_argument("--profile", default="harsh")
    parser.add_argument("--boards", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--init-scales", type=float, nargs="+")
    parser.add_argument("--offline", action="store_true", help="also: bp offline, then fine-tune")
    parser.add_argument("--channels", choices=("wired", "weights", "inputs"), default="wired",
                        help="calibrate only these channels (the others keep the nominal line)")
    parser.add_argument("--calibration-only", action="store_true",
                        help="only calibrate each board and report the worst error (no training)")
    parser.add_argument("--no-stuck", action="store_true",
                        help="override [sim] stuck_dac_channels = [] (harsh minus its stuck weight)")
    parser.add_argument("--json", type=Path, help="write the results here")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.boards, args.seeds = 1, 1
    overrides = {"sim": {"stuck_dac_channels": []}} if args.no_stuck else None
    bench = load_bench(args.bench, args.profile, overrides)
    task = load_task(bench.bench.task)
    scales = args.init_scales or [bench.defaults.init_scale]
    t0 = time.perf_counter()
    runs: dict[str, tuple[list, list]] = {}
    fit_errors = []
    for i in range(args.boards):
        board = 1000 + i
        with tempfile.TemporaryDirectory() as tmp:
            cal_bench, worst = calibrated(bench, f"mock://?board_seed={board}", Path(tmp),
                                          args.channels)
        fit_errors.append(worst)
        for s in range(0 if args.calibration_only else args.seeds):
            url = f"mock://?seed={100 + s}&board_seed={board}"
            for scale in scales:
                plain, cal = runs.setdefault(f"scratch, init_scale {scale:g}", ([], []))
                plain.append(train_once(bench, task, url, s, scale))
                cal.append(train_once(cal_bench, task, url, s, scale))
            start = offline_weights(bench, task, s, bench.defaults.init_scale) if args.offline else None
            if start is not None:
                plain, cal = runs.setdefault("offline bp, then in-loop", ([], []))
                plain.append(train_once(bench, task, url, s, 0.0, start))
                cal.append(train_once(cal_bench, task, url, s, 0.0, start))
        print(f"board {board}: calibration's worst error {worst:.3f} LSB", file=sys.stderr)
    if args.calibration_only:
        print(f"{args.bench} {args.profile}: {args.boards} boards, worst |fitted line - true DAC "
              f"volts| over every calibrated code: {max(fit_errors):.3f} LSB "
              f"(median board {np.median(fit_errors):.3f} LSB)")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({
                "stamp": stamp(), "bench": args.bench, "profile": args.profile,
                "dac_bits": bench.dac.bits, "dac_gain_mismatch": bench.sim.dac_gain_mismatch,
                "boards": args.boards, "worst_error_lsb": max(fit_errors),
                "median_board_lsb": float(np.median(fit_errors)),
                "board_worst_errors_lsb": fit_errors}, indent=2) + "\n")
        return
    result = {
        "stamp": stamp(),
        "bench": args.bench, "profile": args.profile, "stuck_channel": not args.no_stuck,
        "dac_bits": bench.dac.bits, "dac_gain_mismatch": bench.sim.dac_gain_mismatch,
        "boards": args.boards, "seeds_per_board": args.seeds, "channels": args.channels,
        "calibration_worst_error_lsb": max(fit_errors),
        "conditions": {name: compare(*pair) for name, pair in runs.items()},
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def print_table(r: dict) -> None:
    name = f"{r['bench']} {r['profile']}" + ("" if r["stuck_channel"] else " (no stuck channel)")
    print(f"{name}: {r['boards']} boards x {r['seeds_per_board']} seeds; calibration's worst "
          f"error {r['calibration_worst_error_lsb']:.3f} LSB; {r['wall_s']} s\n")
    print("| start | DAC calibration | converged | median queries | accuracy at start "
          "| paired: fewer / more queries with calibration | median paired ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for cond, c in r["conditions"].items():
        for label, key in (("none", "without"), ("measured", "with")):
            s = c[key]
            med = f"{s['median_queries']:,.0f}" if s["median_queries"] is not None else "-"
            paired = (f"{c['pairs_calibration_fewer_queries']} / {c['pairs_calibration_more_queries']}"
                      f" of {c['pairs']}" if key == "with" else "")
            ratio = f"{c['median_paired_ratio']:.2f}" if key == "with" else ""
            print(f"| {cond} | {label} | {s['converged']}/{s['runs']} | {med} "
                  f"| {s['median_accuracy_at_start']:.2f} | {paired} | {ratio} |")


if __name__ == "__main__":
    main()
