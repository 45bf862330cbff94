"""Train on one board, then put the same weights on other boards: the reality gap that
in-loop training closes, measured with the public API.

    python examples/evaluate_elsewhere.py --profile harsh --boards 2,3,4
    python examples/evaluate_elsewhere.py --device upy://       # check on the real firmware
"""

from __future__ import annotations

import argparse

import wphil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-board", type=int, default=1, help="board_seed trained on")
    parser.add_argument("--boards", default="2,3,4", help="board_seeds to evaluate on")
    parser.add_argument("--device", default="mock://", help="backend of the other boards")
    parser.add_argument("--out", default="runs/example-transfer", help="run directory (new)")
    args = parser.parse_args()

    home = f"mock://?board_seed={args.train_board}"
    summary = wphil.train(device=home, bench="xor-2-2-1", out=args.out).wait()
    print(f"trained on {home}: accuracy {summary['accuracy']:.0%} in {summary['queries']} queries")
    run = wphil.Run(args.out)
    for board in args.boards.split(","):
        url = f"{args.device}?board_seed={board}"
        result = run.evaluate(url)
        outputs = ", ".join(f"{row['outputs'][0]:+.3f}" for row in result["patterns"])
        print(f"  on {url}: accuracy {result['accuracy']:.0%}, loss {result['loss']:.4f} V^2, "
              f"outputs [{outputs}] V")


if __name__ == "__main__":
    main()
