"""Benchmark: sequence forward passes per second on a recurrent bench, in one run.

    python bench/bench_sequence.py [--bench delayed-xor] [--step-us N] [--rounds 5] [--seconds 0.5]
                                   [--json bench/results/sequence_speed.json] [--quick]

A sequence forward pass is one replay of the task's whole input sequence for one weight
vector (its steps are queries). Modes, interleaved over several rounds of `--seconds` each
(best kept) so machine load hits them alike:
  mock batched       mock://, one call for the base and n_weights perturbations
  upy batched        upy://, one SEQUENCE request for the base and n_weights perturbations,
                     paced by the firmware's timer
  upy one per step   upy://, one SEQUENCE request per step (CONTINUE keeps the circuit's
                     state between them): the host is the clock
`--step-us` sets the step period for both upy modes (default 1: free-running, every step
an overrun, so the rate is what the board and the link can do; at the bench's own period
both are bound by the pacing).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from script_args import add_quick, at_least, usage_errors

from wphil.drivers import load_bench, open_device
from wphil.learning import CodeMap, load_task


def timed(fn, sequences_per_call: int, seconds: float) -> dict:
    """Calls fn until `seconds` have passed (at least once): its sequence rate."""
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            break
    return {"sequences": sequences_per_call * calls, "seconds": dt,
            "sequences_per_s": sequences_per_call * calls / dt}


def measure(bench_name: str, step_us: int, rounds: int, seconds: float) -> list[dict]:
    bench = load_bench(bench_name)
    task = load_task(bench.bench.task)
    inputs = CodeMap(bench).inputs_to_codes(task.features[0])
    codes = CodeMap(bench).weights_to_codes(np.random.default_rng(0).uniform(-1, 1, bench.n_weights))
    perts = [[(k, 10)] for k in range(bench.n_weights)]
    rows = len(perts) + 1
    with open_device("mock://", bench) as mock, open_device("upy://", bench) as upy:
        def per_step() -> None:
            upy.evaluate_sequence(inputs[:1], codes, step_us=step_us)
            for t in range(1, len(inputs)):
                upy.evaluate_sequence(inputs[t:t + 1], codes, step_us=step_us, resume=True)

        modes = {
            "mock batched": (lambda: mock.evaluate_sequence(inputs, codes, perts), rows),
            "upy batched": (lambda: upy.evaluate_sequence(inputs, codes, perts, step_us=step_us),
                            rows),
            "upy one per step": (per_step, 1),
        }
        best: dict[str, dict] = {}
        for _ in range(rounds):
            for name, (fn, per_call) in modes.items():
                result = timed(fn, per_call, seconds)
                result["timing"] = dict(upy.sequence_timing) if name.startswith("upy") else {}
                if name not in best or result["sequences_per_s"] > best[name]["sequences_per_s"]:
                    best[name] = result
    steps = len(inputs)
    return [{"mode": name, "steps": steps, "step_us": step_us, **r,
             "queries_per_s": r["sequences_per_s"] * steps} for name, r in best.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="delayed-xor")
    parser.add_argument("--step-us", type=at_least(1), default=1)
    parser.add_argument("--rounds", type=at_least(1), default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="per mode and round")
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 0.05
    with usage_errors(parser):
        rows = measure(args.bench, args.step_us, args.rounds, args.seconds)
    base = next(r for r in rows if r["mode"] == "upy one per step")["sequences_per_s"]
    print(f"bench {args.bench}, {rows[0]['steps']} steps per sequence, step_us {args.step_us}")
    print(f"{'mode':<18} {'sequences/s':>12} {'queries/s':>11} {'vs one per step':>16}")
    for r in rows:
        print(f"{r['mode']:<18} {r['sequences_per_s']:>12,.1f} {r['queries_per_s']:>11,.0f} "
              f"{r['sequences_per_s'] / base:>15.1f}x")
    for mode in ("upy batched", "upy one per step"):
        timing = next(r for r in rows if r["mode"] == mode)["timing"]
        print(f"{mode} (last request): achieved period {timing['period_us']:.0f} us, "
              f"{timing['overruns']} overruns, worst {timing['max_late_us']} us late")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
