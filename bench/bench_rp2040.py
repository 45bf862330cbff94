"""Forward passes per second of the firmware on MicroPython's RP2040 build, in emulated time.

    python bench/bench_rp2040.py [--json bench/results/rp2040-speed.json]
                                 [--md bench/results/rp2040-speed.md] [--quick]

Boots an emulated Pico (rp2040://, a fresh board per bench), flashes the firmware, stops
it, and from the raw REPL drives the firmware's own server with requests held in RAM,
timing them with time.ticks_us() on the chip: emulated time, counted from the executed
Cortex-M0+ cycles at 125 MHz, so the figures are what a Pico's CPU would take, whatever
the host machine's load. Not in those figures, and so listed beside them:
- I2C bus time: the emulator's I2C takes no time; the bytes each pass writes (counted in a
  separate, untimed run) are converted at the bench's i2c_hz (9 clocks per byte, + start
  and stop) and added;
- USB: requests come from RAM, so one pass per request leaves out the USB round trip
  (1-2 ms on a real Pico: full speed polls every 1 ms frame).
The RP2040 ADC's 2 us per sample and the firmware's settle_us are in the emulated time.

Beside each rate: the bench's physical limit (host/compare/limits.py: DAC writes of only the
channels that change, settle time, ADC time; no CPU) and the ratio of the rate to it, at the
bench's bus speed and at 1 MHz (the RP2040 I2C block's top speed). Host-driven requests get
a second table: each request's time against a USB round trip of 1 and 2 ms, and the ratio to
the limit once that round trip is paid per request.

How far the emulated clock can be trusted: rp2040js counts Cortex-M0+ instruction cycles, and
charges one cycle for every memory access outside the peripherals (3-4 on the APB: the ADC
and timer registers the kernels read). The interpreter runs from flash through the XIP
cache, whose misses rp2040js does not model: on a real Pico bytecode is, if anything, slower
than here. The compiled kernels (firmware/kernels.py) are loaded into RAM, where a real
Cortex-M0+ runs them at the cycle counts the emulator charges. The ADC's 2 us conversion is
emulated; I2C transfers are not (their time is added, as above).
"""

from __future__ import annotations

import ast
import json
import sys

from board_ram import MEMIO, board_repl
from results_stamp import stamp
from script_args import table_parser

from wphil.compare.limits import pass_limit
from wphil.drivers import load_bench
from wphil.drivers.repl import BoardRepl
from wphil.drivers.rp2040_pico import missing
from wphil.drivers.serial_device import firmware_config
from wphil.learning import CodeMap, TrainConfig, TrainState, load_task, onchip_job

# On the board: the server fed from RAM (MemIO), each measurement one JSON line.
SETUP = r"""
import gc, json, struct, time, board, server, onchip, protocol as P
""" + MEMIO + r"""io = MemIO()
b = Board()
for k in ('NAME', 'FIRMWARE_ROOT', 'i2c', 'rp2040_adc', 'settle', 'watchdog', 'boot_id'):
    setattr(b, k, getattr(board, k))
b.stream = lambda: io
srv = server.Server(b)
def feed(frames):
    io.data, io.pos = frames, 0
def serve(n):
    t0 = time.ticks_us()
    for _ in range(n):
        srv.step(0)
    return time.ticks_diff(time.ticks_us(), t0)
class Count:
    def __init__(self, bus): self.bus, self.clocks = bus, 0
    def writeto(self, addr, buf, stop=True):
        self.clocks += 9 * (1 + len(buf)) + 2
        return self.bus.writeto(addr, buf, stop)
    def __getattr__(self, name): return getattr(self.bus, name)
def counting(on):
    for chip in srv.rig.dacs.chips:
        chip.i2c = Count(chip.i2c) if on else getattr(chip.i2c, 'bus', chip.i2c)
feed(P.encode(P.CONFIGURE, 1, %(config)r))
serve(1)
gc.collect()
import emit
print(json.dumps({"mem_free": gc.mem_free(), "configured": srv.rig.configured,
                  "emitter": emit.emitter(emit.kernels())}))
"""

REQUESTS = r"""
def frames(cmd, payloads, n):
    return b''.join(P.encode(cmd, 100 + i, payloads[i % len(payloads)]) for i in range(n))
def measure(name, cmd, payloads, n, passes):
    feed(frames(cmd, payloads, n)); us = serve(n)
    counting(True); feed(frames(cmd, payloads, 2)); serve(2)
    clocks = sum(c.i2c.clocks for c in srv.rig.dacs.chips) / 2; counting(False)
    print(json.dumps({"mode": name, "passes": n * passes, "us": us, "bus_clocks": clocks / passes,
                      "requests": n}))
"""

ONCHIP = r"""
job = json.loads(%(job)r)
run = onchip.Run(srv, job, 1)
t0 = time.ticks_us(); run.loop(); us = time.ticks_diff(time.ticks_us(), t0)
counting(True); run2 = onchip.Run(srv, dict(job, epochs=1), 1); run2.loop()
clocks = sum(c.i2c.clocks for c in srv.rig.dacs.chips); counting(False)
print(json.dumps({"mode": %(name)r, "passes": run.queries, "us": us,
                  "bus_clocks": clocks / run2.queries}))
"""


def evaluate_payload(bench, vectors: int, patterns: int, shift: int = 0) -> bytes:
    """EVALUATE of `vectors` weight vectors x `patterns` patterns; `shift` moves weight 0
    (requests that alternate it are one wp perturbation each)."""
    import struct
    n_w, n_in = bench.n_weights, bench.n_inputs
    codes = [2048 + (i * 37) % 200 - 100 + (shift if i == 0 else 0) for i in range(vectors * n_w)]
    inputs = [1048 + 2000 * ((i // n_in + i) % 2) for i in range(patterns * n_in)]
    return struct.pack("<BHH", 0, vectors, patterns) + struct.pack(
        f"<{len(codes) + len(inputs)}H", *codes, *inputs)


def perturb_payload(bench, patterns: int) -> bytes:
    import struct
    n_w, n_in = bench.n_weights, bench.n_inputs
    out = struct.pack("<BHH", 0, n_w, patterns) + struct.pack(f"<{n_w}H", *([2048] * n_w))
    for k in range(n_w):
        out += struct.pack("<BBh", 1, k, 20)
    inputs = [1048 + 2000 * ((i // n_in + i) % 2) for i in range(patterns * n_in)]
    return out + struct.pack(f"<{len(inputs)}H", *inputs)


def train_job(bench, task_name: str, epochs: int) -> dict:
    task = load_task(task_name)
    config = TrainConfig.for_bench(bench, onchip=True, epochs=epochs, target_accuracy=2.0)
    codemap = CodeMap(bench)
    import numpy as np
    state = TrainState(weights=np.zeros(bench.n_weights), rng_state={})
    return onchip_job(bench, task, config, codemap, state)


def run_long(repl: BoardRepl, code: str) -> str:
    """Run code that takes longer than mpremote's default 10 s."""
    out, err = repl.transport.exec_raw(code, timeout=1800)
    if err:
        raise RuntimeError(err.decode(errors="replace").strip().splitlines()[-1])
    return out.decode()


def run_board(bench_name: str, task: str, epochs: int, quick: bool) -> tuple[dict, list[dict]]:
    bench = load_bench(bench_name)
    with board_repl(bench) as repl:
        # no host-silence rule: the on-chip runs here get no PINGs from a host
        config = dict(firmware_config(bench), host_timeout_ms=0)
        setup = ast.literal_eval(repl.run(SETUP % {"config": json.dumps(config).encode()},
                                          "setup").strip().replace("true", "True"))
        rows = []
        if bench_name.startswith("xor"):
            repl.run(REQUESTS, "defining requests")
            n = 20 if quick else 200
            for code in (
                    f"measure('host, one pass per request', P.EVALUATE, "
                    f"{[evaluate_payload(bench, 1, 1, s) for s in (0, 20)]!r}, {n}, 1)",
                    f"measure('host, batched: wp step (PERTURB 9 x 4 + base)', P.PERTURB, "
                    f"[{perturb_payload(bench, 4)!r}], {n // 10}, {4 * (bench.n_weights + 1)})",
                    f"measure('host, batched: EVALUATE 16 x 4', P.EVALUATE, "
                    f"[{evaluate_payload(bench, 16, 4)!r}], {n // 20}, 64)"):
                rows.append(json.loads(repl.run(code, "measuring")))
        job = json.dumps(train_job(bench, task, epochs))
        rows.append(json.loads(run_long(repl, ONCHIP % {"job": job,
                                                        "name": f"on-chip TRAIN, {task}"})))
        repl.leave()
    return setup, rows


USB_RTT_MS = (1.0, 2.0)     # a USB full-speed round trip: 1 ms frames, 1-2 ms per request


def rows_for(bench_name: str, setup: dict, measured: list[dict]) -> list[dict]:
    bench = load_bench(bench_name)
    hz, limit = bench.dac.i2c_hz, pass_limit(bench)
    rows = []
    for m in measured:
        cpu = m["us"] / m["passes"]
        bus = m["bus_clocks"] * 1e6 / hz
        rate, fast = 1e6 / (cpu + bus), 1e6 / (cpu + m["bus_clocks"])
        row = {"bench": bench_name, "mode": m["mode"], "passes": m["passes"],
               "emitter": setup["emitter"], "cpu_us": cpu, "i2c_us": bus,
               "passes_per_s": rate, "limit": limit.passes_per_s(hz),
               "ratio": rate / limit.passes_per_s(hz), "passes_per_s_1mhz": fast,
               "limit_1mhz": limit.passes_per_s(1e6), "ratio_1mhz": fast / limit.passes_per_s(1e6)}
        if "requests" in m:
            per_request = m["passes"] / m["requests"]
            request_ms = per_request * (cpu + bus) / 1e3
            row["passes_per_request"] = per_request
            row["request_ms"] = request_ms
            for rtt in USB_RTT_MS:
                with_rtt = per_request / ((request_ms + rtt) / 1e3)
                row[f"ratio_rtt_{rtt:g}ms"] = with_rtt / limit.passes_per_s(hz)
        rows.append(row)
    return rows


def markdown(rows: list[dict], notes: list[str]) -> str:
    lines = ["| bench | mode | kernels | passes | emulated us/pass | I2C us/pass | passes/s | "
             "limit passes/s | ratio | passes/s at 1 MHz | limit at 1 MHz | ratio at 1 MHz |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['mode']} | {r['emitter']} | {r['passes']} | "
                     f"{r['cpu_us']:.0f} | {r['i2c_us']:.0f} | {r['passes_per_s']:,.0f} | "
                     f"{r['limit']:,.0f} | {r['ratio']:.2f} | {r['passes_per_s_1mhz']:,.0f} | "
                     f"{r['limit_1mhz']:,.0f} | {r['ratio_1mhz']:.2f} |")
    host = [r for r in rows if "request_ms" in r]
    if host:
        lines += ["", "| bench | host-driven request | passes/request | ms/request (CPU + I2C) | "
                  "request / 1 ms RTT | ratio to limit, 1 ms RTT | ratio to limit, 2 ms RTT |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in host:
            lines.append(f"| {r['bench']} | {r['mode']} | {r['passes_per_request']:.0f} | "
                         f"{r['request_ms']:.2f} | {r['request_ms'] / USB_RTT_MS[0]:.1f} | "
                         f"{r['ratio_rtt_1ms']:.2f} | {r['ratio_rtt_2ms']:.2f} |")
    return "\n".join(lines + [""] + notes) + "\n"


def main() -> None:
    parser = table_parser(__doc__, "tables")
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(f"bench_rp2040: {reason}")
    rows, notes, memory = [], [], {}
    cases = (("xor-2-2-1", "xor", 20), ("iris", "iris", 1))
    for bench_name, task, epochs in (("xor-2-2-1", "xor", 1),) if args.quick else cases:
        bench = load_bench(bench_name)
        hz, limit = bench.dac.i2c_hz, pass_limit(bench)
        setup, measured = run_board(bench_name, task, epochs, args.quick)
        memory[bench_name] = setup["mem_free"]
        rows += rows_for(bench_name, setup, measured)
        notes.append(f"    limit, {bench_name}: {limit.i2c_us(hz):.0f} us I2C at {hz / 1e3:g} kHz + "
                     f"{limit.settle_us:.0f} us settle + {limit.adc_us:.0f} us ADC = "
                     f"{limit.pass_us(hz):.0f} us per pass")
    for name, free in memory.items():
        notes.append(f"    gc.mem_free() after CONFIGURE, {name}: {free:,} bytes")
    text = markdown(rows, notes)
    print(text, end="")
    made = stamp()
    if args.json:
        args.json.write_text(json.dumps({"stamp": made, "rows": rows, "memory": memory},
                                        indent=1) + "\n")
    if args.md:
        args.md.write_text(f"<!-- {made['command']} ({made['commit']}, {made['date']}) -->\n"
                           + text)


if __name__ == "__main__":
    main()
