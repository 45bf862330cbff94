"""Free RAM on MicroPython's RP2040 build after CONFIGURE, for every shipped bench.

    python bench/rp2040_memory.py [--json bench/results/rp2040-memory.json]
                                  [--md bench/results/rp2040-memory.md] [--quick]

Boots one emulated Pico (rp2040://) with the largest bench's converters (iris: 8 MCP4728s),
flashes the firmware (compiled for armv6m, the kernels as machine code), stops it, and from
the raw REPL drives the firmware's own server with requests held in RAM: for each bench
(bench/*.toml), a fresh server takes the bench's CONFIGURE, then gc.collect() and
gc.mem_free(); for the feed-forward benches also with an on-chip TRAIN run set up (its
buffers, hot.py), before its first step. The target (issue 24): above 150 kB on every bench.
"""

from __future__ import annotations

import json
from pathlib import Path

from board_ram import MEMIO, board_repl
from results_stamp import stamp
from script_args import table_parser

from wphil.drivers import load_bench
from wphil.drivers.serial_device import firmware_config
from wphil.learning import CodeMap, TrainConfig, TrainState, load_task, onchip_job

BENCH_DIR = Path(__file__).resolve().parent
TARGET_BYTES = 150_000
BOARD_BENCH = "iris"            # the most DAC chips: every bench's CONFIGURE finds its chips
TASKS = {"xor-2-2-1": "xor", "xor-2-2-1-ads1115": "xor", "iris": "iris", "parity4": "parity4"}

SETUP = r"""
import gc, json, board, server, onchip, emit, protocol as P
""" + MEMIO + r"""def memory(config, job):
    io = MemIO()
    b = Board()
    for k in ('NAME', 'FIRMWARE_ROOT', 'i2c', 'rp2040_adc', 'settle', 'watchdog', 'boot_id'):
        setattr(b, k, getattr(board, k))
    b.stream = lambda: io
    srv = server.Server(b)
    io.data, io.pos = P.encode(P.CONFIGURE, 1, config), 0
    srv.step(0)
    gc.collect()
    row = {"configured": srv.rig.configured, "mem_free": gc.mem_free(),
           "emitter": emit.emitter(emit.kernels())}
    if job:
        run = onchip.Run(srv, json.loads(job), 1)
        gc.collect()
        row["mem_free_train"] = gc.mem_free()
        run = None
    srv = io = b = None
    gc.collect()
    print(json.dumps(row))
"""


def shipped_benches() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.toml"))


def train_job(name: str) -> str:
    bench = load_bench(name)
    config = TrainConfig.for_bench(bench, onchip=True, epochs=1)
    import numpy as np
    state = TrainState(weights=np.zeros(bench.n_weights), rng_state={})
    return json.dumps(onchip_job(bench, load_task(TASKS[name]), config, CodeMap(bench), state))


def memory_rows(names: list[str]) -> list[dict]:
    """gc.mem_free() after each bench's CONFIGURE (and with a TRAIN run set up) on one board."""
    rows = []
    with board_repl(load_bench(BOARD_BENCH)) as repl:
        repl.run(SETUP, "setup")
        for name in names:
            config = json.dumps(dict(firmware_config(load_bench(name)),
                                     host_timeout_ms=0)).encode()
            job = train_job(name) if name in TASKS else ""
            out = repl.run(f"memory({config!r}, {job!r})", f"configuring {name}")
            rows.append({"bench": name, **json.loads(out.strip().splitlines()[-1])})
        repl.leave()
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| bench | configured | kernels | gc.mem_free() after CONFIGURE "
             "| with a TRAIN run set up |", "|---|---|---|---:|---:|"]
    for r in rows:
        train = f"{r['mem_free_train']:,}" if "mem_free_train" in r else "(recurrent: no TRAIN)"
        lines.append(f"| {r['bench']} | {'yes' if r['configured'] else 'NO'} | {r['emitter']} | "
                     f"{r['mem_free']:,} | {train} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = table_parser(__doc__)
    args = parser.parse_args()
    rows = memory_rows(["xor-2-2-1"] if args.quick else shipped_benches())
    text = markdown(rows)
    print(text, end="")
    low = [r["bench"] for r in rows if r["mem_free"] < TARGET_BYTES]
    print(f"target: above {TARGET_BYTES:,} bytes on every bench: "
          + (f"MISSED on {', '.join(low)}" if low else "met"))
    made = stamp()
    if args.json:
        args.json.write_text(json.dumps({"stamp": made, "target_bytes": TARGET_BYTES,
                                         "rows": rows}, indent=1) + "\n")
    if args.md:
        args.md.write_text(f"<!-- {made['command']} ({made['commit']}, {made['date']}) -->\n"
                           + text)


if __name__ == "__main__":
    main()
