"""Recurrent benches: the circuit (spice://, ngspice transient) against the model (mock://, RK4).

Ideal converters (16-bit, no mismatch), equal time constants, no noise: what is left is the
limiter-then-integrator circuit against tau da/dt = -a + vsat tanh(net / vsat). For each
weight spread, 5 x 4 random weight vectors (input bits random for delayed-xor): the mean,
95th percentile and max |spice - mock| in 12-bit ADC codes, and how far halving the
transient's largest time step moves any sample (mV).

    python bench/spice_tran_accuracy.py [--json bench/results/spice_tran_accuracy.json] [--quick]

`--json` also writes the rows with the stamp (date, commit, machine, command).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from results_stamp import stamp
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.drivers.spice import TRAN_STEPS_PER_TAU

IDEAL = {"sim": {"read_noise_volts": 0.0, "tau_mismatch": 0.0}}
CODE12 = 16                       # one 12-bit code in 16-bit codes
SPREADS = (0.02, 0.05, 0.1, 0.25)  # of full scale: weights within +-0.16, 0.4, 0.8, 2
STEPS = {"oscillator-2": 32, "delayed-xor": 12}


def case(bench, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    full = 1 << bench.dac.bits
    rng = np.random.default_rng(seed)
    codes = full // 2 + (rng.uniform(-spread, spread, (4, bench.n_weights)) * full).astype(int)
    levels = [round((bench.calibration.input_zero_volts + v) / bench.dac.vref * full)
              for v in bench.calibration.input_volts]
    return codes, rng.choice(levels, (STEPS[bench.name], bench.n_inputs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows and the stamp here")
    add_quick(parser)
    args = parser.parse_args()
    names, spreads, seeds = (["delayed-xor"], SPREADS[:1], 1) if args.quick else (STEPS, SPREADS, 5)
    rows = []
    print("| bench | weights within | mean | p95 | max (12-bit codes) | halved step: max mV |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        bench = load_bench(name, "ideal", overrides=IDEAL)
        half_us = min(bench.recurrent.tau_us) / TRAN_STEPS_PER_TAU / 2
        for spread in spreads:
            diffs, moved = [], 0.0
            with open_device("spice://?nominal=1", bench) as spice, \
                    open_device("mock://", bench) as mock:
                for seed in range(seeds):
                    codes, inputs = case(bench, spread, seed)
                    circuit = spice.evaluate_sequence(inputs, codes).astype(int)
                    diffs.append(np.abs(circuit - mock.evaluate_sequence(inputs, codes)) / CODE12)
                    step = spice.sequence_volts(inputs, codes, bench.recurrent.step_us)
                    half = spice.sequence_volts(inputs, codes, bench.recurrent.step_us,
                                                max_step_us=half_us)
                    moved = max(moved, float(np.abs(step - half).max()))
            d = np.concatenate([x.ravel() for x in diffs])
            w = spread * (1 << bench.dac.bits) * bench.dac.vref / (1 << bench.dac.bits) \
                * bench.calibration.weight_per_volt
            rows.append({"bench": name, "weights_within": w, "mean_codes": float(d.mean()),
                         "p95_codes": float(np.percentile(d, 95)), "max_codes": float(d.max()),
                         "halved_step_max_mv": 1e3 * moved})
            print(f"| {name} | +-{w:.2g} | {d.mean():.1f} | {np.percentile(d, 95):.0f} | "
                  f"{d.max():.0f} | {1e3 * moved:.3f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"stamp": stamp(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
