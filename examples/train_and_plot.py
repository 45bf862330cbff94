"""Train XOR on the simulated analog bench, watch it learn, and plot the learning curve.

    python examples/train_and_plot.py                      # mock://, the default profile
    python examples/train_and_plot.py --device upy://      # the real firmware, unix port
"""

from __future__ import annotations

import argparse

import wphil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="mock://", help="device URL (default: mock://)")
    parser.add_argument("--profile", default="default", help="ideal, default or harsh")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument("--out", default="runs/example-xor", help="run directory (must be new)")
    args = parser.parse_args()

    training = wphil.train(device=args.device, bench="xor-2-2-1", profile=args.profile,
                           algo="wp", seed=args.seed, out=args.out)
    for record in training:
        if record.epoch % 10 == 0:
            print(f"epoch {record.epoch:4d}  queries {record.queries:6d}  "
                  f"loss {record.loss:.4f} V^2  accuracy {record.accuracy:.0%}")
    summary = training.summary
    print(f"{summary['stop_reason']} after {summary['epochs']} epochs and {summary['queries']} "
          f"queries: accuracy {summary['accuracy']:.0%}")
    print(f"learning curve: {training.run.plot()}")


if __name__ == "__main__":
    main()
