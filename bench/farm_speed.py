"""`bench learn` spread over a farm of simulated benches against the same grid run serially.

    python bench/farm_speed.py [--quick] [--benches 3] [--rounds 3] [--labgrid]

Starts standing simulated boards (the firmware under the MicroPython unix port, each on a
pty: drivers/standing_board.py) and runs the same grid three ways, one after the other:
`--device upy://` (serial: a board process per job), `--device URL` (one standing board:
the farm's per-job cost without its parallelism) and `--device URL,URL,URL` (the farm).
Checks that the runs measured the same (queries, losses, curves: every field but wall
times and where it ran) and writes the wall times and speedups to
bench/results/farm/farm_speed.json and .md, with each grid's learn.md next to them (the
last round's). Wall times on a shared machine move with its load: the three are run in
interleaved rounds, the best of each is compared, and the load average is recorded.

`--labgrid`: the same on a lab in a box (`wphil farm up N`: a labgrid coordinator, two
exporters and ser2net in front of the simulated boards, host/lab/farm.py): one bench is
`labgrid://bench1`, the farm is the place pattern `labgrid://bench*`; each bench's process
acquires its place and opens its port over RFC 2217 once, for all its jobs, and releases it
at the end (host/compare/bench_worker.py). Written to
bench/results/farm/farm_speed_labgrid.json and .md (grids under labgrid/). With
`--no-chardelay` the exporters' ser2net runs with `chardelay: false` and TCP_NODELAY
(host/lab/farm.py: ser2net's batching wait costs 3-7 ms per request, Nagle ~24 ms per long
reply): farm_speed_labgrid_nochardelay.*.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from results_stamp import REPO, stamp
from script_args import add_quick, at_least

from wphil.compare.benchmark import check_grid
from wphil.drivers import load_bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.standing_board import standing_boards
from wphil.lab.farm import Farm

OUT = REPO / "bench" / "results" / "farm"
RULES = "wp,wp-central,powell"
QUICK_RULES = "wp"


def grid_args(rules: str, quick: bool) -> list[str]:
    """`wphil bench learn`'s grid: xor, the rules, 6 seeds (a smoke run: 2 seeds, 300 queries)."""
    if quick:
        return ["--tasks", "xor", "--rules", rules, "--seeds", "2", "--max-queries", "300"]
    return ["--tasks", "xor", "--rules", rules, "--seeds", "6"]
#: what a run measured; the rest (wall_s, bench, url, bench_identity, device) is where and how long
MEASURED = ("status", "stop_reason", "queries", "channel_reads", "loss", "accuracy", "epochs",
            "evaluations", "restarts", "converged", "curve")


def run_grid(grid: list[str], device: str, out: Path) -> float:
    """Wall seconds of `wphil bench learn` on `device`, writing into `out`."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "wphil", "bench", "learn", *grid, "--device",
                           device, "--out", str(out), "--no-progress"],
                          capture_output=True, text=True)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"farm_speed.py: the grid on {device} failed (exit {proc.returncode}): "
                         f"{last}")
    return time.perf_counter() - start


def measured(out: Path) -> dict[str, dict]:
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    return {f"{r['rule']}/{r['seed']}": {k: r.get(k) for k in MEASURED} for r in runs}


@contextmanager
def bench_devices(n: int, labgrid: bool, chardelay: bool, paced: bool = False,
                  raw: bool = False) -> Iterator[dict[str, str]]:
    """--device of each way to run the grid, with the benches up meanwhile."""
    if labgrid:
        lab = Farm(n, load_bench("xor-2-2-1"), chardelay=chardelay, paced=paced,
                   raw=raw).start()
        try:
            at = f"?coordinator={lab.coordinator}"
            yield {"serial": "upy://?paced=1" if paced else "upy://",
                   "one-bench": f"labgrid://bench1{at}",
                   "farm": f"labgrid://bench*{at}"}
        finally:
            lab.stop()
        return
    with standing_boards(n) as boards:
        urls = [b.url for b in boards]
        yield {"serial": "upy://", "one-bench": urls[0], "farm": ",".join(urls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_quick(parser)
    parser.add_argument("--benches", type=at_least(2), default=3, help="simulated boards")
    parser.add_argument("--rounds", type=at_least(1), default=3, help="interleaved rounds")
    parser.add_argument("--labgrid", action="store_true",
                        help="the boards behind a lab in a box (labgrid, ser2net)")
    parser.add_argument("--no-chardelay", action="store_true",
                        help="--labgrid with ser2net's chardelay off and TCP_NODELAY on")
    parser.add_argument("--paced", action="store_true",
                        help="--labgrid with boards that wait each settle time, as a circuit "
                        "makes a Pico wait (upy://?paced=1 for the serial run too)")
    parser.add_argument("--raw", action="store_true",
                        help="--labgrid with a standing ser2net per board, published as a "
                        "raw-TCP NetworkSerialPort (nothing started on acquire, no RFC 2217)")
    parser.add_argument("--rules", help=f"the grid's rules, comma-separated (default {RULES}; "
                        f"{QUICK_RULES} with --quick)")
    args = parser.parse_args()
    rules = args.rules or (QUICK_RULES if args.quick else RULES)
    try:
        check_grid(["xor"], rules.split(","), ["default"], command="farm_speed.py --rules")
    except ConfigError as exc:
        parser.error(str(exc))
    if (args.no_chardelay or args.paced or args.raw) and not args.labgrid:
        parser.error("--no-chardelay, --paced and --raw are for --labgrid")
    if args.raw and args.no_chardelay:
        parser.error("--raw runs its own ser2net without chardelay already")
    rounds = 1 if args.quick else args.rounds
    grid = grid_args(rules, args.quick)
    setup = ("labgrid-nochardelay" if args.no_chardelay else "labgrid") if args.labgrid \
        else "standing"
    out_dir = OUT / setup if args.labgrid else OUT
    name = {"standing": "farm_speed", "labgrid": "farm_speed_labgrid",
            "labgrid-nochardelay": "farm_speed_labgrid_nochardelay"}[setup]
    if args.raw:
        setup, name = "labgrid-raw", "farm_speed_labgrid_raw"
        out_dir = OUT / setup
    if args.paced:
        setup, name = f"{setup}-paced", f"{name}_paced"
        out_dir = OUT / setup
    with tempfile.TemporaryDirectory() as tmp, \
            bench_devices(args.benches, args.labgrid, not args.no_chardelay,
                          args.paced, args.raw) as devices:
        outs = {way: (Path(tmp) if args.quick else out_dir) / way
                for way in ("serial", "one-bench", "farm")}
        load = [round(x, 2) for x in os.getloadavg()]
        walls: dict[str, list[float]] = {name: [] for name in outs}
        loads: list[float] = []         # the 1-minute load average as each round starts
        same = True
        for _ in range(rounds):
            loads.append(round(os.getloadavg()[0], 2))
            for way, out in outs.items():
                shutil.rmtree(out, ignore_errors=True)
                walls[way].append(round(run_grid(grid, devices[way], out), 1))
            grids = {way: measured(out) for way, out in outs.items()}
            same = same and grids["farm"] == grids["serial"] == grids["one-bench"]
        load_after = [round(x, 2) for x in os.getloadavg()]
        farm = json.loads((outs["farm"] / "learn.json").read_text())["benches"]
    wall = {way: min(w) for way, w in walls.items()}
    result = {**stamp(), "grid": " ".join(grid), "benches": args.benches,
              "setup": setup, "devices": devices,
              "runs": len(grids["farm"]), "identical": same,
              "rounds": rounds, "wall_s": wall, "wall_s_every_round": walls,
              "speedup_vs_serial": round(wall["serial"] / wall["farm"], 2),
              "speedup_vs_one_bench": round(wall["one-bench"] / wall["farm"], 2),
              "load_average_before_after": [load, load_after],
              "load_average_every_round": loads,
              "farm_benches": [{k: b[k] for k in ("jobs", "healthy")} for b in farm]}
    print(json.dumps(result, indent=1))
    if not args.quick:
        (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        (OUT / f"{name}.md").write_text(markdown(result))
        print(f"wrote {OUT / name}.json, {OUT / name}.md")


def rounds_text(r: dict) -> str:
    return "; ".join(f"{name} {', '.join(map(str, walls))}"
                     for name, walls in r["wall_s_every_round"].items())


def round_speedups(r: dict) -> list[float]:
    """The farm's speedup over the serial run within each round (the same load)."""
    walls = r["wall_s_every_round"]
    return [round(s / f, 2) for s, f in zip(walls["serial"], walls["farm"])]


#: how each setup's benches are described: (the boards, one bench, the farm)
SETUPS = {
    "standing": ("{n} standing simulated boards (firmware under the MicroPython unix port, one "
                 "pty each)", "one standing board", "farm of {n} standing boards"),
    "labgrid": ("a lab in a box: labgrid coordinator, 2 exporters, ser2net (RFC 2217) in front "
                "of {n} simulated boards (firmware under the MicroPython unix port, one pty "
                "each); each bench holds its place and its port for the whole grid",
                "one place, `labgrid://bench1`", "farm of {n} places, `labgrid://bench*`"),
}
SETUPS["labgrid-nochardelay"] = (SETUPS["labgrid"][0].replace(
    "ser2net (RFC 2217)", "ser2net (RFC 2217, `chardelay: false`, TCP_NODELAY)"),
    *SETUPS["labgrid"][1:])
SETUPS["labgrid-raw"] = (SETUPS["labgrid"][0].replace(
    "ser2net (RFC 2217)", "a standing ser2net per board published as a raw-TCP "
    "`NetworkSerialPort` (`chardelay: false`, TCP_NODELAY; nothing started on acquire)"),
    *SETUPS["labgrid"][1:])
for _setup in ("labgrid", "labgrid-nochardelay", "labgrid-raw"):  # boards that wait as a circuit does
    SETUPS[f"{_setup}-paced"] = (SETUPS[_setup][0].replace(
        "(firmware under the MicroPython unix port, one pty each)",
        "(firmware under the MicroPython unix port, one pty each, paced: each waits the "
        "bench's settle time where a Pico would, `upy://?paced=1`)"), *SETUPS[_setup][1:])


def markdown(r: dict) -> str:
    w = r["wall_s"]
    boards, one, farm = (text.format(n=r["benches"])
                         for text in SETUPS[r.get("setup", "standing")])
    return "\n".join([
        f"`{r['command']}` — {r['date']}, commit {r['commit']}, {r['machine']}", "",
        f"Grid: `wphil bench learn {r['grid']}` ({r['runs']} runs), on {boards}.", "",
        f"Best of {r['rounds']} interleaved rounds (every round, s: {rounds_text(r)}; "
        f"the farm's speedup over serial within each round: "
        f"{', '.join(f'{x}x' for x in round_speedups(r))}).", "",
        "| device | wall s | farm speedup |", "|---|---:|---:|",
        f"| `{r['devices']['serial']}` (serial, a board process per job) | {w['serial']} | "
        f"{r['speedup_vs_serial']}x |",
        f"| {one} | {w['one-bench']} | {r['speedup_vs_one_bench']}x |",
        f"| {farm} | {w['farm']} | — |", "",
        f"Identical grid (every run's queries, losses, curves): **{r['identical']}**. "
        f"Jobs per bench: {', '.join(str(b['jobs']) for b in r['farm_benches'])}. "
        f"Load average (1, 5, 15 min) before and after: {r['load_average_before_after']}"
        + (f"; 1 min, as each round started: {r['load_average_every_round']}"
           if "load_average_every_round" in r else "") + ".", "",
        "The serial `upy://` run starts a board process for every job (the farm's boards "
        "stand): a cost the farm does not pay; the one-bench run is the same boards and "
        "path as the farm, one job at a time.", ""])


if __name__ == "__main__":
    main()
