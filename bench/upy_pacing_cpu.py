"""Host CPU a upy:// board burns while the firmware paces a sequence (the SEQUENCE command).

    python bench/upy_pacing_cpu.py [--quick]

Replays 30 sequences of each recurrent bench at its own step and prints the wall time
against the paced minimum and the board process's CPU time (from /proc, Linux). The
firmware sleeps until the board's SLEEP_MARGIN_US before each sample instant, then spins.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench, open_device

SEQUENCES = 30


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's live children (the board processes)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == os.getpid():
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(parser)
    args = parser.parse_args()
    sequences = 3 if args.quick else SEQUENCES
    for name in ("delayed-xor",) if args.quick else ("delayed-xor", "oscillator-2"):
        bench = load_bench(name)
        step = bench.recurrent.step_us
        steps = 20 if bench.n_inputs else 32
        inputs = np.full((steps, bench.n_inputs), 2048, dtype=np.int64)
        codes = np.full(bench.n_weights, 2048, dtype=np.int64)
        with open_device("upy://", bench) as dev:
            for _ in range(3):
                dev.evaluate_sequence(inputs, codes)
            c0, t0 = children_cpu_s(), time.perf_counter()
            for _ in range(sequences):
                dev.evaluate_sequence(inputs, codes)
            wall, cpu = time.perf_counter() - t0, children_cpu_s() - c0
            timing = dict(dev.sequence_timing)
        print(f"{name}: {sequences} sequences x {steps} steps of {step} us: wall {wall:.2f} s "
              f"(paced minimum {sequences * steps * step / 1e6:.2f} s), board CPU {cpu:.2f} s; "
              f"last {timing}")


if __name__ == "__main__":
    main()
