"""Fit the `default` profile's mismatch magnitudes to a Monte Carlo of the bench's circuit.

For each of N boards (`board_seed` 1..N) the circuit's parts are drawn as spice:// draws
them and mapped to the abstract model (drivers/circuit_model.py); the spread of each
abstract parameter over the boards is what the bench's [sim] key should say. The neuron
offsets are also measured in ngspice (all weights at zero, ideal converters), as a check
of the map. Prints a Markdown table: parameter, circuit Monte Carlo, the bench's value.

    python bench/fit_circuit.py [--bench xor-2-2-1] [--boards 300] [--spice-boards 50]
                                [--json bench/results/fit_circuit.json] [--quick]

`--json` also writes the rows and the ngspice check with the results stamp.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from results_stamp import stamp
from script_args import add_quick

from wphil.drivers import open_device
from wphil.drivers.analog import BoardInstance
from wphil.drivers.bench_files import load_bench
from wphil.drivers.circuit import CircuitParts
from wphil.drivers.circuit_model import abstract_board, fitted_vsat, trimmed


def monte_carlo(bench, boards: int) -> dict[str, np.ndarray]:
    """Abstract parameters of `boards` circuit boards, converters ideal (their own keys)."""
    rows: dict[str, list] = {"weight_gain": [], "weight_offset": [], "vsat": [],
                             "neuron_offset": [], "adc_offset": []}
    for seed in range(1, boards + 1):
        converters = BoardInstance.draw(bench, seed)
        ideal = BoardInstance(**{**converters.to_dict(), "dac_gain": [1.0] * bench.dac_channels,
                                 "dac_offset": [0.0] * bench.dac_channels,
                                 "adc_offset": [0.0] * bench.adc.channels})
        parts = trimmed(bench, CircuitParts.draw(bench, seed), ideal)    # as after bring-up
        board = abstract_board(bench, parts, ideal)
        for name in rows:
            rows[name] += list(getattr(board, name))
    return {name: np.array(values) for name, values in rows.items()}


def spice_neuron_offsets(bench, boards: int) -> np.ndarray:
    """Net offsets measured in ngspice: readouts with every weight at zero, through atanh."""
    ideal = load_bench(bench.source.split(" ")[0], profile="ideal")
    vsat = fitted_vsat(ideal)
    zero = np.full((1, ideal.n_weights), ideal.fixed_channels[ideal.circuit.ref_channel])
    inputs = np.full((1, ideal.n_inputs), zero[0, 0])
    out = []
    for seed in range(1, boards + 1):
        with open_device(f"spice://?board_seed={seed}", ideal) as dev:
            a = dev.circuit_volts(inputs, zero, hidden=bool(ideal.wiring.hidden))[0, :, 0]
        out += list(vsat * np.arctanh(np.clip(a / vsat, -0.999, 0.999)))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="xor-2-2-1")
    parser.add_argument("--boards", type=int, default=300)
    parser.add_argument("--spice-boards", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the rows and the stamp here")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:
        args.boards, args.spice_boards = 5, 1
    bench = load_bench(args.bench)
    mc = monte_carlo(bench, args.boards)
    sim = bench.sim
    vsat = mc["vsat"]
    rows = [
        ("weight_gain_mismatch", np.std(mc["weight_gain"]), sim.weight_gain_mismatch),
        ("weight_offset", np.std(mc["weight_offset"]), sim.weight_offset),
        ("vsat_mismatch", np.std(vsat) / np.mean(vsat), sim.vsat_mismatch),
        ("[topology] vsat", np.mean(vsat), bench.topology.vsat),
        ("neuron_offset_volts", np.std(mc["neuron_offset"]), sim.neuron_offset_volts),
        ("output_offset_volts (VMID, op-amp)", np.std(mc["adc_offset"]), sim.output_offset_volts),
    ]
    print(f"{args.bench}: {args.boards} circuit boards (parts as spice:// draws them)\n")
    print("| [sim] key | circuit Monte Carlo | bench file |\n|---|---:|---:|")
    for name, fitted, current in rows:
        print(f"| {name} | {fitted:.4g} | {current:.4g} |")
    result = {"stamp": stamp(), "bench": args.bench, "boards": args.boards,
              "rows": [{"key": name, "circuit": float(fitted), "bench": float(current)}
                       for name, fitted, current in rows]}
    if args.spice_boards:
        measured = spice_neuron_offsets(bench, args.spice_boards)
        print(f"\nneuron offset measured in ngspice on {args.spice_boards} boards "
              f"(readouts only): std {np.std(measured):.4g} V, mean {np.mean(measured):+.3g} V")
        result["spice_neuron_offsets"] = {"boards": args.spice_boards,
                                          "std_volts": float(np.std(measured)),
                                          "mean_volts": float(np.mean(measured))}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
