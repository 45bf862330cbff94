"""Benchmark: forward passes per second through the mock device's batched API, next to a
plain numpy forward pass of the same network (float weights, tanh, no converters).

    python bench/bench_mock_speed.py [--repeat 5] [--json bench/results/mock_speed.json] [--quick]

Both sides get the same batch (B weight vectors x P patterns) and are timed alternately in
one run, best of --repeat; the ratio is the cost of simulating the hardware (code to volt
mapping, mismatch, noise, ADC quantization, DNL, query counting and input checks).
Target (issue 2): mock <= 2x plain numpy.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap, IdealModel


def plain_forward(weights: np.ndarray, signals: np.ndarray, shapes, vsat: float,
                  bias: float) -> np.ndarray:
    """The same network in plain numpy: (B, n_w) float weights, (n_in, P) volts -> (B, out, P).

    Same (B, units, P) layout as the mock, so the ratio isolates the hardware simulation.
    """
    splits = np.cumsum([u * f for u, f in shapes])[:-1]
    a = signals
    for w, (units, fan_in) in zip(np.split(weights, splits, axis=1), shapes):
        w = w.reshape(len(w), units, fan_in)
        a = vsat * np.tanh((w[:, :, :-1] @ a + bias * w[:, :, -1:]) / vsat)
    return a


def best_rate(fn, passes: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return passes / best


def measure(bench_name: str, batch: int, patterns: int, repeat: int) -> dict:
    bench = load_bench(bench_name)
    cm = CodeMap(bench)
    rng = np.random.default_rng(0)
    weights = rng.uniform(-1, 1, (batch, bench.n_weights))
    codes = cm.weights_to_codes(weights)
    inputs = cm.inputs_to_codes(rng.random((patterns, bench.n_inputs)))
    signals = np.ascontiguousarray(cm.input_volts(inputs).T)
    model = IdealModel(bench)
    passes = batch * patterns
    with open_device("mock://", bench) as dev:
        mock = lambda: dev.evaluate(inputs, codes)  # noqa: E731
        plain = lambda: plain_forward(cm.codes_to_weights(codes), signals, model.shapes,  # noqa
                                      bench.topology.vsat, model.bias)
        mock(), plain()  # warm up
        rates = {"mock": [], "numpy": []}
        for _ in range(3):  # interleave so machine noise hits both
            rates["mock"].append(best_rate(mock, passes, repeat))
            rates["numpy"].append(best_rate(plain, passes, repeat))
    mock_rate, numpy_rate = max(rates["mock"]), max(rates["numpy"])
    return {"bench": bench_name, "layers": list(bench.topology.layers), "batch": batch,
            "patterns": patterns, "mock_passes_per_s": mock_rate,
            "numpy_passes_per_s": numpy_rate, "mock_cost_vs_numpy": numpy_rate / mock_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the results here")
    add_quick(parser)
    args = parser.parse_args()
    cases = [("xor-2-2-1", 1, 4), ("xor-2-2-1", 10, 4), ("xor-2-2-1", 256, 4),
             ("xor-2-2-1", 4096, 4), ("iris", 1, 150), ("iris", 28, 150), ("iris", 256, 150)]
    if args.quick:
        cases, args.repeat = [("xor-2-2-1", 10, 4)], 1
    rows = [measure(name, b, p, args.repeat) for name, b, p in cases]
    print("| network | weight vectors x patterns | mock passes/s | numpy passes/s | mock cost |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['bench']} {'-'.join(map(str, r['layers']))} | {r['batch']} x {r['patterns']} "
              f"| {r['mock_passes_per_s']:,.0f} | {r['numpy_passes_per_s']:,.0f} "
              f"| {r['mock_cost_vs_numpy']:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
