"""How reliably the default settings train each built-in bench on the simulated device.

    python bench/convergence.py [--bench xor-2-2-1 parity4 iris] [--seeds 20] [--profile default]
                                [--json bench/results/convergence.json] [--quick]

Seed s trains with `--seed s` on `mock://?seed=100+s` (weight init and read noise both vary;
the board instance is the bench's). Prints one markdown row per bench; `--json` also writes
the rows, each seed's outcome and the stamp (date, commit, machine, command).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from results_stamp import stamp
from script_args import add_quick, at_least, usage_errors

from wphil.drivers import load_bench, open_device
from wphil.learning import TrainConfig, Trainer, load_task


def run_seeds(bench_name: str, seeds: int, profile: str) -> dict:
    bench = load_bench(bench_name, profile)
    task = load_task(bench.bench.task)
    results = []
    t0 = time.perf_counter()
    for seed in range(seeds):
        with open_device(f"mock://?seed={100 + seed}", bench) as dev:
            trainer = Trainer(dev, bench, task, TrainConfig.for_bench(bench, seed=seed))
            for _ in trainer.run():
                pass
        results.append((trainer.stop_reason == "converged", trainer.state.epoch,
                        trainer.state.queries, trainer.state.accuracy, trainer.state.loss))
    ok = [r for r in results if r[0]]
    return {"bench": bench_name, "task": task.name, "profile": profile, "seeds": seeds,
            "converged": len(ok), "target": bench.defaults.target_accuracy,
            "target_loss": bench.defaults.target_loss,
            "runs": [{"seed": s, "converged": r[0], "epochs": r[1], "queries": r[2],
                      "accuracy": r[3], "loss": r[4]} for s, r in enumerate(results)],
            "median_epochs": float(np.median([r[1] for r in ok])) if ok else float("nan"),
            "median_queries": float(np.median([r[2] for r in ok])) if ok else float("nan"),
            "final_accuracy": [r[3] for r in results], "wall_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", nargs="+", default=["xor-2-2-1", "parity4", "iris"])
    parser.add_argument("--seeds", type=at_least(1), default=20)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--json", type=Path, help="also write the rows and the stamp here")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.bench, args.seeds = ["xor-2-2-1"], 1
    rows = []
    print("| bench | task | target accuracy | converged | median epochs | median queries "
          "| final accuracy min / median | wall s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in args.bench:
        with usage_errors(parser):
            r = run_seeds(name, args.seeds, args.profile)
        rows.append(r)
        acc = np.array(r["final_accuracy"])
        print(f"| {name} | {r['task']} | {r['target']:.2f} | {r['converged']}/{r['seeds']} "
              f"| {r['median_epochs']:.0f} | {r['median_queries']:,.0f} "
              f"| {acc.min():.3f} / {np.median(acc):.3f} | {r['wall_s']:.1f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"stamp": stamp(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
