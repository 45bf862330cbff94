"""The lowest oscillator loss reachable when the harsh profile's stuck channel holds the first
weight (neuron 0's bias) at code 0 = -4.096: Adam on exact BPTT gradients of the ideal
network (wphil.learning.sequence_model) with that weight held, from several random starts.

    python bench/oscillator_stuck_floor.py [--starts 3] [--steps 1500] [--quick]

Why: on the harsh profile neither in-loop wp-central nor BPTT-then-transfer reaches the
oscillator's target; this shows the target is out of reach for any rule on that board.
"""

from __future__ import annotations

import argparse

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench
from wphil.learning.sequence_model import SequenceModel
from wphil.learning.sequences import oscillator

STUCK = 0                  # the harsh profile sticks the bench's first weight channel
STUCK_WEIGHT = -4.096      # code 0: (0 - 1.024 V) x 4.0 per volt


def floor(seed: int, steps: int) -> tuple[float, np.ndarray]:
    bench, task = load_bench("oscillator-2"), oscillator()
    model = SequenceModel(bench, bench.recurrent.step_us)
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, bench.n_weights)
    w[STUCK] = STUCK_WEIGHT
    m, v, lr, best = np.zeros_like(w), np.zeros_like(w), 0.03, np.inf
    for i in range(1, steps + 1):
        loss, g = model.gradient(w, task.features, task.trajectory, task.scored)
        best = min(best, loss)
        g[STUCK] = 0.0
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        step = lr * (m / (1 - 0.9 ** i)) / (np.sqrt(v / (1 - 0.999 ** i)) + 1e-8)
        w = np.clip(w - step, -4.096, 4.096)
        w[STUCK] = STUCK_WEIGHT
    return best, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1500)
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.starts, args.steps = 1, 20
    for seed in range(args.starts):
        best, w = floor(seed, args.steps)
        print(f"start {seed}: lowest loss {best:.4f} V^2 (RMS {1000 * np.sqrt(best):.0f} mV), "
              f"weights {np.round(w, 2).tolist()}", flush=True)


if __name__ == "__main__":
    main()
