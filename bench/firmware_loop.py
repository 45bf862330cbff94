"""Time the firmware's own hot loops per forward pass, on a board with no physics.

    python bench/firmware_loop.py [--quick]

Runs firmware/rig.py and firmware/onchip.py under the MicroPython unix port with
bench/nullboard/board.py (I2C writes dropped, ADC constant), so the figure is the
interpreter cost of the firmware itself. Scale it to the RP2040 (docs/results/speed.md) to estimate
what a real Pico adds to I2C and ADC time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from script_args import add_quick

from wphil.firmware import firmware_dir

SCRIPT = r"""
ROUNDS = 5
import time, board, onchip
from rig import Rig
rig = Rig(board)
rig.configure({"layers": [2, 2, 1], "weights": list(range(9)), "inputs": [9, 10], "outputs": [0],
    "hidden": [], "dac": {"kind": "mcp4728", "chips": 3, "bits": 12, "vref": 2.048, "i2c_id": 0,
    "sda": 4, "scl": 5, "i2c_hz": 400000}, "adc": {"kind": "rp2040", "channels": 3, "bits": 12,
    "vref": 3.3, "oversample": 4}, "min_code": 0, "max_code": 4095, "safe_code": 2048,
    "settle_us": 10})
class S: pass
s = S(); s.rig = rig
run = onchip.Run(s, {"inputs": [1048, 1048, 1048, 3048, 3048, 1048, 3048, 3048],
    "target_codes": [1300.0, 2800.0], "labels": [0, 1, 1, 0], "lr": [1.0] * 9,
    "pert": [20] * 9, "codes": [2048] * 9, "epochs": 1, "max_queries": 0,
    "target_accuracy": 1.0, "target_loss": 0.0, "threshold": 2050.0, "seed": 0,
    "shuffle": False}, 1)
out = bytearray(64)
inputs = run.inputs
def timed(f, n):
    t0 = time.ticks_us()
    for i in range(n):
        f(i)
    return time.ticks_diff(time.ticks_us(), t0) / n
best = [1e9, 1e9, 1e9]
for _ in range(ROUNDS):
    best[0] = min(best[0], timed(lambda i: rig.forward(inputs, i & 3, out, 0, [0]), 2000))
    best[1] = min(best[1], timed(lambda i: run.step(i & 3), 200) / 10)
    best[2] = min(best[2], timed(lambda i: rig.adc.read(0), 2000))
print("| firmware loop (MicroPython unix port, no physics) | us per pass |")
print("|---|---:|")
print("| host-driven pass: rig.forward (inputs, flush, 4x ADC) | %.1f |" % best[0])
print("| on-chip pass: onchip step / (n_w + 1) | %.1f |" % best[1])
print("| of which one oversampled ADC reading (4 samples) | %.1f |" % best[2])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(parser)
    args = parser.parse_args()
    script = SCRIPT.replace("ROUNDS = 5", "ROUNDS = 1") if args.quick else SCRIPT
    fw = firmware_dir()
    null = Path(__file__).resolve().parent / "nullboard"
    proc = subprocess.run([sys.executable, "-m", "micropython_unix", "-c", script],
                          env={"MICROPYPATH": f"{null}:{fw}"}, capture_output=True, text=True,
                          timeout=120)
    print(proc.stdout + proc.stderr, end="")
    if proc.returncode:
        sys.exit(f"firmware_loop: the MicroPython run failed (exit {proc.returncode})")


if __name__ == "__main__":
    main()
