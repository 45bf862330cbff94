"""XOR on ten circuit-level boards: in-loop wp against offline-trained-then-transferred weights.

Each board is `spice://?board_seed=N`: the AD633/MCP6004 circuit of the XOR bench with that
board's part mismatch (multiplier gain and offsets, resistor tolerances, op-amp offsets,
diode spread), solved by ngspice. `wp` trains in the loop on that board; `offline` trains
on the ideal model and loads the weights onto it. The reality gap comes from the circuit.

    python bench/spice_xor_boards.py [--boards 10] [--json bench/results/spice_xor_boards.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ALGOS = ("wp", "offline")


def train(board_seed: int, algo: str, out: Path) -> dict:
    """One `wphil train` run on one board; its summary.json."""
    cmd = [sys.executable, "-m", "wphil", "train", "--device", f"spice://?board_seed={board_seed}",
           "--algo", algo, "--no-progress", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.boards + 1):
            row = {"board_seed": seed}
            for algo in ALGOS:
                s = train(seed, algo, Path(tmp) / f"{algo}-{seed}")
                row[algo] = {"accuracy": s["accuracy"], "loss": s["loss"], "queries": s["queries"],
                             "epochs": s["epochs"]}
            rows.append(row)
            print(_line(row), flush=True) if len(rows) > 1 else print(_header(), _line(row),
                                                                       sep="\n", flush=True)
    for algo in ALGOS:
        solved = sum(r[algo]["accuracy"] == 1.0 for r in rows)
        print(f"{algo}: 100% on {solved} of {len(rows)} boards")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


def _header() -> str:
    return ("| board_seed | wp accuracy | wp loss | wp queries | offline accuracy | offline loss |\n"
            "|---:|---:|---:|---:|---:|---:|")


def _line(r: dict) -> str:
    wp, off = r["wp"], r["offline"]
    return (f"| {r['board_seed']} | {wp['accuracy']:.0%} | {wp['loss']:.4f} | {wp['queries']} | "
            f"{off['accuracy']:.0%} | {off['loss']:.4f} |")


if __name__ == "__main__":
    main()
