"""Benchmark: forward passes per second of spice:// (the circuit in ngspice) next to mock://.

    python bench/bench_spice.py [--repeat 5] [--json bench/results/spice_speed.json] [--quick]

For the XOR and iris benches, in one run, timed alternately, best of --repeat:
  single     one weight vector x one pattern per call (a query at a time)
  step       one weight-perturbation step: the base plus one perturbation per weight,
             times every pattern of the task (XOR: 10 x 4 passes; iris: 28 x 150), one call
Target (issue 13): at least 3,000 batched XOR passes per second on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap

PATTERNS = {"xor-2-2-1": 4, "iris": 150}
SINGLE_CALLS = {"mock": 2000, "spice": 200}
#: --quick: single calls per backend (xor only, once)
QUICK_CALLS = {"mock": 20, "spice": 4}


def best_rate(fn, passes: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return passes / best


def measure(bench_name: str, repeat: int, single_calls: dict[str, int] = SINGLE_CALLS) -> dict:
    bench = load_bench(bench_name)
    cm = CodeMap(bench)
    rng = np.random.default_rng(0)
    base = cm.weights_to_codes(rng.uniform(-1, 1, bench.n_weights))
    inputs = cm.inputs_to_codes(rng.random((PATTERNS[bench_name], bench.n_inputs)))
    perts = [[(k, 10)] for k in range(bench.n_weights)]
    step_passes = (bench.n_weights + 1) * len(inputs)
    row = {"bench": bench_name, "step_passes": step_passes}
    devices = {name: open_device(f"{name}://", bench) for name in ("mock", "spice")}
    try:
        for dev in devices.values():               # warm up: worker start, caches
            dev.evaluate(inputs, base, perturbations=perts)
        for name, dev in devices.items():
            calls = single_calls[name]

            def single(dev=dev, calls=calls):
                for i in range(calls):
                    dev.evaluate(inputs[i % len(inputs)][None, :], base)

            row[f"{name}_single"] = best_rate(single, calls, repeat)
            row[f"{name}_step"] = best_rate(
                lambda dev=dev: dev.evaluate(inputs, base, perturbations=perts), step_passes, repeat)
    finally:
        for dev in devices.values():
            dev.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=None)
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        rows = [measure("xor-2-2-1", 1, QUICK_CALLS)]
    else:
        rows = [measure(name, args.repeat) for name in PATTERNS]
    print("| bench | passes/step | mock single | spice single | mock step | spice step "
          "| mock/spice (step) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['bench']} | {r['step_passes']} | {r['mock_single']:,.0f} | "
              f"{r['spice_single']:,.0f} | {r['mock_step']:,.0f} | {r['spice_step']:,.0f} | "
              f"{r['mock_step'] / r['spice_step']:,.0f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
