"""The on-chip training's compiled inner loop (firmware/kernels.py, hot.py, emit.py).

Run by the MicroPython unix port, which has the native and viper emitters on this host (x64):
the machine-code kernels and their bytecode fallback train to the same codes, a port without
the emitters gets the fallback at import, and a pass writes only the DAC channels it changes,
in the bytes host/compare/limits.py counts for the physical limit (MCP4728 Fast Write or
Multi-Write, DS22187E Fig. 5-7/5-8). The memory figure on the real RP2040 build is in
tests/test_rp2040_memory.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wphil.compare.limits import chip_write_bytes
from wphil.drivers import load_bench
from wphil.drivers.bench import Bench
from wphil.drivers.serial_device import firmware_config
from wphil.drivers.upy import sim_board_file
from wphil.firmware import firmware_dir
from wphil.lab.firmware_files import board_files, mpy_arch
from wphil.learning import CodeMap, TrainConfig, TrainState, load_task, onchip_job

# The server fed from RAM (as bench/bench_rp2040.py does on the emulated Pico), the sim
# board's I2C bus logging every write, and TRAIN run to the end, with the kernels compiled
# (BYTECODE False) or as bytecode (True).
TRAIN = r"""
import json, sys, emit, board, server, onchip, protocol as P
cfg, job, bytecode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3] == "1"
emit.BYTECODE = bytecode
class MemIO:
    def readable(self, t): return False
    def readinto(self, mv, t): return 0
    def write(self, b): pass
class Board: pass
b = Board()
for k in ('NAME', 'FIRMWARE_ROOT', 'i2c', 'rp2040_adc', 'settle', 'watchdog', 'boot_id'):
    setattr(b, k, getattr(board, k))
b.stream = lambda: MemIO()
srv = server.Server(b)
srv.configure(json.dumps(dict(cfg, host_timeout_ms=0)).encode(), 1)
run = onchip.Run(srv, job, 1)
run.loop()
trained = run.codes()
writes = []
write = board.BUS.writeto
def logged(addr, buf, stop=True):
    writes.append((addr, len(buf)))
    return write(addr, buf, stop)
board.BUS.writeto = logged
# the bus traffic of one step whose weights do not move (lr 0), after one that set them
still = dict(job, lr=[0] * len(job["lr"]), codes=trained, epochs=1)
run = onchip.Run(srv, still, 1)
run.step(0)
del writes[:]
run.step(0)
print(json.dumps({"emitter": run.hot.emitter, "codes": trained, "writes": writes}))
"""


def zero_state(bench: Bench) -> TrainState:
    return TrainState(weights=np.zeros(bench.n_weights), rng_state={})


def run_upy(script: str, *args: str, path: str, board: Path | None = None,
            timeout: float = 60) -> str:
    env = dict(os.environ, MICROPYPATH=path)
    if board is not None:
        env["WPHIL_SIM_BOARD"] = str(board)
    proc = subprocess.run([sys.executable, "-m", "micropython_unix", "-c", script, *args],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr or proc.stdout
    return proc.stdout


def train(tmp_path: Path, bench_name: str, task: str, epochs: int, bytecode: bool) -> dict:
    bench = load_bench(bench_name)
    board = sim_board_file(bench, tmp_path, {"noise": 0.0, "drift": 0.0})
    config = TrainConfig.for_bench(bench, onchip=True, epochs=epochs, target_accuracy=2.0)
    job = onchip_job(bench, load_task(task), config, CodeMap(bench), zero_state(bench))
    (tmp_path / "cfg.json").write_text(json.dumps(firmware_config(bench)))
    (tmp_path / "job.json").write_text(json.dumps(job))
    sim = firmware_dir() / "sim"
    out = run_upy(TRAIN, str(tmp_path / "cfg.json"), str(tmp_path / "job.json"),
                  "1" if bytecode else "0", path=f"{sim}:{firmware_dir()}", board=board)
    return json.loads(out.strip().splitlines()[-1])


def expected_write_lengths(bench_name: str) -> list[int]:
    """The bytes after the address of each transaction of a step whose base did not move: the
    last weight of the step before restored, then weight k perturbed and k-1 restored (the
    restored one's chip first when they differ), each chip's write as host/compare/limits.py
    counts it for the physical limit."""
    weights = list(load_bench(bench_name).wiring.weights)
    lengths = [chip_write_bytes({weights[-1] % 4}) - 1]
    for k, ch in enumerate(weights):
        previous = weights[k - 1] if k else None
        if previous is not None and previous // 4 == ch // 4:
            lengths.append(chip_write_bytes({ch % 4, previous % 4}) - 1)
            continue
        if previous is not None:
            lengths.append(chip_write_bytes({previous % 4}) - 1)
        lengths.append(chip_write_bytes({ch % 4}) - 1)
    return lengths


@pytest.mark.parametrize("bench_name, task", [("xor-2-2-1", "xor"), ("iris", "iris")])
def test_compiled_and_bytecode_kernels_train_to_the_same_codes_writing_only_what_changes(
        tmp_path: Path, bench_name: str, task: str) -> None:
    epochs = 3 if task == "xor" else 1
    native = train(tmp_path, bench_name, task, epochs, bytecode=False)
    fallback = train(tmp_path, bench_name, task, epochs, bytecode=True)
    assert (native["emitter"], fallback["emitter"]) == ("native", "bytecode")
    assert native["codes"] == fallback["codes"]
    bench = load_bench(bench_name)
    start = CodeMap(bench).weights_to_codes(zero_state(bench).weights).tolist()
    assert native["codes"] != start                               # it did learn something
    # per pass one transaction per chip touched, as short as the limit's count
    assert [n for _, n in native["writes"]] == expected_write_lengths(bench_name)
    assert native["writes"] == fallback["writes"]


def test_a_port_without_the_emitters_gets_the_kernels_as_bytecode_at_import(
        tmp_path: Path) -> None:
    # A decorator the compiler refuses stands in for a port without the native emitter (the
    # unix port on aarch64 raises the same SyntaxError for @micropython.viper).
    fw = firmware_dir()
    shutil.copy(fw / "emit.py", tmp_path / "emit.py")
    source = (fw / "kernels.py").read_text()
    assert "@micropython.viper\n" in source and "@micropython.native\n" in source
    (tmp_path / "kernels.py").write_text(source.replace("@micropython.viper\n",
                                                        "@micropython.viper )\n"))
    script = ("import array, emit\n"
              "k = emit.kernels()\n"
              "codes = array.array('H', [100, 2000, 4095, 7])\n"
              "buf = bytearray(12)\n"
              "n = k.pack(buf, codes, 0, 0b0110, 0x80)\n"
              "print(emit.emitter(k), n, bytes(buf[:n]).hex())\n")
    out = run_upy(script, path=str(tmp_path)).split()
    # channels B and C: a Fast Write of A..C (6 bytes, Fig. 5-7; A rewritten with its own
    # code) ties a Multi-Write of B and C (6, Fig. 5-8), and a tie goes to the Fast Write
    assert out == ["bytecode", "6", "006407d00fff"]
    native = run_upy(script, path=str(fw)).split()
    assert native[0] == "native" and native[1:] == out[1:]


def test_the_kernels_compile_to_machine_code_for_the_pico_and_for_this_host() -> None:
    for arch in ("armv6m", "x64"):
        files = {f.name: f.data for f in board_files(arch=arch)}
        assert mpy_arch(files["kernels.mpy"]) == arch
    # a port without a native emitter: the kernels stay source, the rest is plain bytecode
    files = {f.name: f.data for f in board_files(arch=None)}
    assert "kernels.py" in files and "kernels.mpy" not in files
    assert mpy_arch(files["hot.mpy"]) is None
