"""Benchmark: forward passes per second through the real firmware under the MicroPython
unix port (`upy://`), host-driven one pass per request, host-driven batched, and on-chip,
with the bytes on the wire per pass.

    python bench/bench_upy_speed.py [--bench xor-2-2-1] [--json bench/results/upy_speed.json] [--quick]

All modes run in one process on the same simulated board, interleaved over several rounds
(best kept), so machine load hits them alike. "On-chip" is the firmware's own perturbation
loop (TRAIN), timed from the request to its final reply.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap, TrainConfig, TrainState, load_task, onchip_job


def wire(dev) -> int:
    return dev.link.stats["bytes_out"] + dev.link.stats["bytes_in"]


def timed(dev, fn, passes_per_call: int, calls: int) -> dict:
    q0, b0, t0 = dev.queries, wire(dev), time.perf_counter()
    for _ in range(calls):
        fn()
    dt = time.perf_counter() - t0
    passes = dev.queries - q0
    assert passes == passes_per_call * calls
    return {"passes": passes, "seconds": dt, "passes_per_s": passes / dt,
            "bytes_per_pass": (wire(dev) - b0) / passes}


def measure(bench_name: str, rounds: int, quick: bool = False) -> list[dict]:
    """Each mode's best rate over `rounds`; `quick`: a tenth of the passes (a smoke run)."""
    less = 10 if quick else 1
    bench = load_bench(bench_name)
    task = load_task(bench.bench.task)
    cm = CodeMap(bench)
    inputs = cm.inputs_to_codes(task.features)
    codes = cm.weights_to_codes(np.random.default_rng(0).uniform(-1, 1, bench.n_weights))
    steps = cm.perturbation_codes(0.04)
    perts = [[(k, int(steps[k]))] for k in range(bench.n_weights)]
    batch = np.tile(codes, (64, 1))
    n_w, n_p = bench.n_weights, len(inputs)
    best: dict[str, dict] = {}
    with open_device("upy://", bench) as dev:
        one = iter(range(10**9))
        config = TrainConfig.for_bench(bench, onchip=True, epochs=150 // less, target_accuracy=1.0,
                                       target_loss=1e-12)
        state = TrainState(weights=cm.codes_to_weights(codes), rng_state={})
        job = onchip_job(bench, task, config, cm, state)
        modes = [
            ("host, one pass per request",
             lambda: timed(dev, lambda: dev.evaluate(inputs[[next(one) % n_p]], codes), 1,
                           1500 // less)),
            (f"host, batched: wp step ({n_w + 1} x {n_p})",
             lambda: timed(dev, lambda: dev.evaluate(inputs, codes, perts), (n_w + 1) * n_p,
                           100 // less)),
            (f"host, batched: 64 vectors x {n_p}",
             lambda: timed(dev, lambda: dev.evaluate(inputs, batch), 64 * n_p, 40 // less)),
            (f"on-chip (TRAIN, {150 // less} epochs)", lambda: timed_onchip(dev, job)),
        ]
        for _ in range(rounds):           # interleaved rounds: load on the machine hits all modes
            for name, run in modes:
                row = run()
                if name not in best or row["passes_per_s"] > best[name]["passes_per_s"]:
                    best[name] = row
    rows = [{"mode": name, **best[name]} for name, _ in modes]
    for r in rows:
        r["vs_one_at_a_time"] = r["passes_per_s"] / rows[0]["passes_per_s"]
    return rows


def timed_onchip(dev, job: dict) -> dict:
    q0, b0, t0 = dev.queries, wire(dev), time.perf_counter()
    dev.train_onchip(job)
    dt = time.perf_counter() - t0
    passes = dev.queries - q0
    return {"passes": passes, "seconds": dt, "passes_per_s": passes / dt,
            "bytes_per_pass": (wire(dev) - b0) / passes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="xor-2-2-1")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, best kept")
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    rows = measure(args.bench, 1 if args.quick else args.rounds, args.quick)
    print(f"upy:// on {args.bench}")
    print("| mode | passes | passes/s | vs one at a time | bytes on the wire per pass |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['passes']} | {r['passes_per_s']:,.0f} "
              f"| {r['vs_one_at_a_time']:.1f}x | {r['bytes_per_pass']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bench": args.bench, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
