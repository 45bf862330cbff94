"""oscillator-2 on circuit-level boards: mock-trained weights transferred, then wp-central
in the loop on the circuit (`spice://`, an ngspice transient per batch).

1. wp-central (the bench's default rule) trains on mock:// until the bench's target.
2. Those DAC codes are replayed on `spice://?board_seed=N` for each board (the limiter and
   integrator circuit with that board's part mismatch) and on `mock://?board_seed=N` (a
   board of the abstract model, its mismatch drawn from [sim]): the trajectory's RMS error
   against the targets.
3. wp-central goes on in the loop on each spice:// board from the transferred weights, for
   `--epochs` epochs (stopping early at the bench's target): the RMS it reaches.
4. Where the transfer error comes from: the transferred codes on the same boards with the
   AD633 output offsets zeroed, and with every offset (AD633 X/Y/output, op-amps) zeroed
   (each effect draws its own values, so the other parts stay as they were).

    python bench/spice_oscillator_boards.py [--boards 3] [--epochs 60]
        [--json bench/results/spice_oscillator_boards.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.learning import TrainConfig, load_task, make_trainer

TASK = "oscillator"
NO_OUTPUT_OFFSETS = {"multiplier_output_offset_volts": 0.0}
NO_OFFSETS = {**NO_OUTPUT_OFFSETS, "multiplier_input_offset_volts": 0.0,
              "opamp_offset_volts": 0.0}


def rms_mv(dev, bench, codes: np.ndarray) -> float:
    config = TrainConfig.for_bench(bench, epochs=1)
    trainer = make_trainer(dev, bench, load_task(TASK), config)
    return 1e3 * float(np.sqrt(trainer.objective.evaluate(codes).loss))


def train_on_mock(bench, epochs: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    config = TrainConfig.for_bench(bench, seed=6, epochs=epochs)
    with open_device("mock://?seed=106", bench) as dev:
        trainer = make_trainer(dev, bench, load_task(TASK), config)
        last = list(trainer.run())[-1]
        return trainer.state.weights.copy(), trainer.codes(), last.epoch


def fine_tune(bench, board: int, weights: np.ndarray, epochs: int) -> tuple[float, int, float]:
    config = TrainConfig.for_bench(bench, seed=board, epochs=epochs)
    with open_device(f"spice://?board_seed={board}", bench) as dev:
        trainer = make_trainer(dev, bench, load_task(TASK), config)
        trainer.state.weights = weights.copy()
        start = time.perf_counter()
        last = list(trainer.run())[-1]
        return 1e3 * float(np.sqrt(last.loss)), last.epoch, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None)
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:                     # one board, one epoch on each side
        args.boards, args.epochs = 1, 1
    bench = load_bench("oscillator-2")
    weights, codes, epochs = train_on_mock(bench, 1 if args.quick else None)
    print(f"oscillator-2, {bench.defaults.algo}: trained on mock:// in {epochs} epochs; "
          f"target RMS {1e3 * np.sqrt(bench.defaults.target_loss):.0f} mV")
    with open_device("spice://?nominal=1", bench) as dev:
        nominal = rms_mv(dev, bench, codes)
    with open_device("mock://?seed=106", bench) as dev:
        trained = rms_mv(dev, bench, codes)
    print(f"on the training board (mock:// board 1): {trained:.0f} mV; on the nominal circuit "
          f"(spice://?nominal=1): {nominal:.0f} mV")
    print("| board | mock:// RMS (mV) | spice:// RMS, transferred (mV) | "
          f"spice:// RMS after <= {args.epochs} wp-central epochs (mV) | epochs | wall s |")
    print("|---:|---:|---:|---:|---:|---:|")
    rows = []
    offsets = []
    for board in range(1, args.boards + 1):
        with open_device(f"mock://?board_seed={board}", bench) as dev:
            mock = rms_mv(dev, bench, codes)
        with open_device(f"spice://?board_seed={board}", bench) as dev:
            spice = rms_mv(dev, bench, codes)
        tuned, ran, wall = fine_tune(bench, board, weights, args.epochs)
        rows.append({"board_seed": board, "mock_rms_mv": mock, "spice_rms_mv": spice,
                     "tuned_rms_mv": tuned, "epochs": ran, "wall_s": wall})
        print(f"| {board} | {mock:.0f} | {spice:.0f} | {tuned:.0f} | {ran} | {wall:.0f} |",
              flush=True)
        zeroed = []
        for circuit in (NO_OUTPUT_OFFSETS, NO_OFFSETS):
            variant = load_bench("oscillator-2", overrides={"circuit": circuit})
            with open_device(f"spice://?board_seed={board}", variant) as dev:
                zeroed.append(rms_mv(dev, variant, codes))
        offsets.append(zeroed)
        rows[-1].update(no_output_offsets_rms_mv=zeroed[0], no_offsets_rms_mv=zeroed[1])
    print("\ntransferred codes, spice:// RMS (mV) with offsets zeroed:")
    print("| board | as drawn | AD633 output offsets 0 | every offset 0 |")
    print("|---:|---:|---:|---:|")
    for row, (out_zero, all_zero) in zip(rows, offsets):
        print(f"| {row['board_seed']} | {row['spice_rms_mv']:.0f} | {out_zero:.0f} | "
              f"{all_zero:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"mock_epochs": epochs, "training_board_rms_mv": trained,
                                         "nominal_circuit_rms_mv": nominal, "boards": rows},
                                        indent=1) + "\n")


if __name__ == "__main__":
    main()
