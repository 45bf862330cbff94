"""Host CPU a upy:// board burns while the firmware paces a sequence (the SEQUENCE command).

    python bench/upy_pacing_cpu.py

Replays 30 sequences of each recurrent bench at its own step and prints the wall time
against the paced minimum and the board process's CPU time (from /proc, Linux). The
firmware sleeps until the board's SLEEP_MARGIN_US before each sample instant, then spins.
"""

import os, time, numpy as np
from wphil.drivers import load_bench, open_device

def child_cpu():
    total = 0.0
    for pid in os.listdir('/proc'):
        if not pid.isdigit(): continue
        try:
            stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == os.getpid():
            total += (int(stat[11]) + int(stat[12])) / os.sysconf('SC_CLK_TCK')
    return total

for name, step in (('delayed-xor', 2000), ('oscillator-2', 500)):
    bench = load_bench(name)
    n_in = bench.n_inputs
    steps = 20 if n_in else 32
    inputs = np.full((steps, n_in), 2048, dtype=np.int64)
    codes = np.full(bench.n_weights, 2048, dtype=np.int64)
    with open_device('upy://', bench) as dev:
        for _ in range(3):
            dev.evaluate_sequence(inputs, codes)
        c0, t0 = child_cpu(), time.perf_counter()
        for _ in range(30):
            dev.evaluate_sequence(inputs, codes)
        wall, cpu = time.perf_counter() - t0, child_cpu() - c0
        timing = dict(dev.sequence_timing)
    print(f"{name}: 30 sequences x {steps} steps of {step} us: wall {wall:.2f} s (paced minimum "
          f"{30 * steps * step / 1e6:.2f} s), board CPU {cpu:.2f} s; last {timing}")
