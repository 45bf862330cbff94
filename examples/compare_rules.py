"""Compare two learning rules on one simulated board: the same mismatch instance
(board_seed), the same initial weights per seed; success rate and median queries.

    python examples/compare_rules.py --rules wp,spsa --seeds 10 --board 7
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import wphil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="wp,node", help="two or more rules, comma-separated")
    parser.add_argument("--bench", default="xor-2-2-1")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--board", type=int, default=1, help="board_seed: the mismatch instance")
    parser.add_argument("--seeds", type=int, default=5, help="runs per rule")
    parser.add_argument("--max-queries", type=int, default=50_000, help="budget of each run")
    parser.add_argument("--out", default="runs/example-compare", help="folder for the run dirs")
    args = parser.parse_args()

    rows = []
    for rule in args.rules.split(","):
        queries, converged = [], 0
        for seed in range(args.seeds):
            device = f"mock://?board_seed={args.board}&seed={100 + seed}"
            summary = wphil.train(device=device, bench=args.bench, profile=args.profile,
                                  algo=rule, seed=seed, max_queries=args.max_queries,
                                  out=Path(args.out) / f"{rule}-{seed}").wait()
            converged += summary["converged"]
            if summary["converged"]:
                queries.append(summary["queries"])
        median = f"{statistics.median(queries):,.0f}" if queries else "-"
        rows.append(f"| {rule} | {converged}/{args.seeds} | {median} |")
    print(f"{args.bench}, {args.profile} profile, board_seed {args.board}\n")
    print("| rule | converged | median queries (converged runs) |\n|---|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
