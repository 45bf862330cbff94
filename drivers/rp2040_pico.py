"""The emulated Pico as a process: where its parts are found, starting and stopping it, and
putting the wphil firmware on it.

Parts: `node` (on PATH, or $WPHIL_NODE), rp2040js (a folder holding node_modules/rp2040js:
$WPHIL_RP2040JS, else drivers/rp2040js after `npm ci` there in a clone, else the user cache
$XDG_CACHE_HOME/wphil/rp2040js that `wphil emulator install` fills), MicroPython's RPI_PICO .uf2
($WPHIL_PICO_UF2, else ../shared/pico/ beside the repository) and the RP2040 boot ROM
(beside the .uf2, or $WPHIL_PICO_BOOTROM). `missing()` names the first part that is not
there, in one line (the tests skip with it, the backend raises it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import serial

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.handshake import await_hello
from wphil.drivers.sim_tables import as_mcp4728
from wphil.drivers.status import status
from wphil.firmware import firmware_dir

log = logging.getLogger(__name__)

HARNESS = Path(__file__).with_name("rp2040js")
REPO = Path(__file__).resolve().parents[1]
SHARED_PICO = REPO.parent / "shared" / "pico"
BOOTROM_NAME = "rp2040-bootrom-b1.bin"
MICROPYTHON_DOWNLOAD = "https://micropython.org/download/RPI_PICO/"
BOOT_TIMEOUT_S = 60.0       # to USB enumeration: 0.5-2 s alone, longer on a loaded machine
FLASH_TIMEOUT_S = 300.0


def find_node() -> str | None:
    return os.environ.get("WPHIL_NODE") or shutil.which("node")


def wphil_cache() -> Path:
    """wphil's folder in the user's cache ($XDG_CACHE_HOME/wphil, else ~/.cache/wphil)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "wphil"


def user_rp2040js() -> Path:
    """Where `wphil emulator install` puts rp2040js: outside the package, so an installed
    (non-editable) wphil never needs to write into site-packages."""
    return wphil_cache() / "rp2040js"


def has_rp2040js(home: Path) -> bool:
    return (home / "node_modules" / "rp2040js" / "package.json").is_file()


def rp2040js_home() -> Path:
    """The folder whose node_modules holds rp2040js: $WPHIL_RP2040JS, the harness folder
    (a clone after `npm ci` there), else the user cache."""
    if os.environ.get("WPHIL_RP2040JS"):
        return Path(os.environ["WPHIL_RP2040JS"])
    return HARNESS if has_rp2040js(HARNESS) else user_rp2040js()


def find_uf2(option: str | None = None) -> Path:
    """The MicroPython image: uf2=PATH, $WPHIL_PICO_UF2, then ../shared/pico/*.uf2."""
    for given in (option, os.environ.get("WPHIL_PICO_UF2")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(f"rp2040://: no MicroPython image at {path}")
            return path
    found = sorted(SHARED_PICO.glob("*RPI_PICO*.uf2")) if SHARED_PICO.is_dir() else []
    if not found:
        raise ConfigError("rp2040://: no MicroPython image for the emulated Pico: download the "
                          f"RPI_PICO .uf2 from {MICROPYTHON_DOWNLOAD} and set WPHIL_PICO_UF2 "
                          f"to it (or put it in {SHARED_PICO})")
    return found[-1]


def find_bootrom(uf2: Path) -> Path:
    for path in (os.environ.get("WPHIL_PICO_BOOTROM"), uf2.with_name(BOOTROM_NAME),
                 SHARED_PICO / BOOTROM_NAME):
        if path and Path(path).is_file():
            return Path(path)
    raise ConfigError(f"rp2040://: no RP2040 boot ROM ({BOOTROM_NAME}, from "
                      "raspberrypi/pico-bootrom) beside the .uf2; set WPHIL_PICO_BOOTROM")


def missing(uf2_option: str | None = None) -> str | None:
    """Why the emulated Pico cannot run here (one line), or None."""
    if not find_node():
        return "needs node (Node.js >= 18) on PATH"
    if not has_rp2040js(rp2040js_home()):
        return "needs rp2040js (the emulator's npm package): run `wphil emulator install`"
    try:
        find_bootrom(find_uf2(uf2_option))
    except ConfigError as exc:
        return str(exc).removeprefix("rp2040://: ")
    return None


def board_spec(bench: Bench, opts: dict[str, Any], state: Path, uf2: Path) -> dict[str, Any]:
    """What the board process needs: paths, the bench, the simulation options."""
    sim = bench.sim
    return {
        # a coarser DAC runs on the MCP4728s by code scaling: the physics sees 12-bit codes
        "bench": as_mcp4728(bench), "bench_source": str(bench.source), "state": str(state),
        "uf2": str(uf2), "bootrom": str(find_bootrom(uf2)), "node": find_node(),
        "rp2040js": None if rp2040js_home() == HARNESS else str(rp2040js_home()),
        "board_seed": opts.get("board_seed", sim.board_seed),
        "noise_seed": opts.get("seed", sim.noise_seed),
        "read_noise_volts": opts.get("noise", sim.read_noise_volts),
        "drift": opts.get("drift", sim.drift_volts_per_kquery),
        "factory_dacs": opts.get("dacs") == "factory",
    }


PICO_MARCH = "armv6m"        # the RP2040's Cortex-M0+: what `wphil flash` compiles for


def firmware_source_hash() -> str:
    """Of this wphil's firmware files and the architecture they are compiled for: the board
    is re-flashed when either changes (a board flashed before per-arch compilation, too)."""
    h = hashlib.sha256(f"-march={PICO_MARCH}\0".encode())
    for path in sorted(firmware_dir().glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


class EmulatedPico:
    """drivers/rp2040_board.py in a process: a booted Pico whose USB port is `port`."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.state = Path(spec["state"])
        self.port = ""
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = BOOT_TIMEOUT_S) -> EmulatedPico:
        status.info("rp2040://: starting the emulated Pico (the emulator boots MicroPython: "
                    "a few seconds)")
        self.state.mkdir(parents=True, exist_ok=True)
        spec_path = self.state / "spec.json"
        spec_path.write_text(json.dumps(self.spec))
        with open(self.state / "board.stderr", "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wphil.drivers.rp2040_board", str(spec_path)],
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True, text=True)
        try:
            self.port = self._expect("port", timeout).split()[1]
            self._expect("ready", timeout)
        except BaseException:
            self.stop()
            raise
        log.info("rp2040: emulated Pico (pid %d) on %s", self.proc.pid, self.port)
        return self

    def _expect(self, word: str, timeout: float) -> str:
        import selectors
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(deadline - time.monotonic()):
                    line = self.proc.stdout.readline()
                    if line.startswith(word):
                        return line.strip()
                    if not line:
                        break
        detail = self.stderr().splitlines()[-1:] or ["no output"]
        raise DeviceError(f"rp2040://: the emulated Pico did not boot ({word!r} not seen "
                          f"within {timeout:.0f} s): {detail[0]}")

    def check_spec(self, spec: dict[str, Any]) -> None:
        keys = ("bench", "board_seed", "noise_seed", "read_noise_volts", "drift", "uf2")
        if any(spec[k] != self.spec[k] for k in keys):
            raise ConfigError(f"rp2040://: the emulated Pico in {self.state} runs another bench "
                              "or simulation options; give another board=NAME")

    def ensure_firmware(self) -> None:
        """Run `wphil flash` on the board unless this wphil's firmware is known to be on it.
        (The flash itself skips files whose SHA-256 already matches.)"""
        marker = self.state / "flashed"
        if marker.is_file() and marker.read_text() == firmware_source_hash():
            return
        log.info("rp2040: flashing the firmware onto %s", self.port)
        status.info("rp2040://: flashing this wphil's firmware onto the emulated Pico "
                    "(once per firmware version: about 10 s)")
        proc = subprocess.run([sys.executable, "-m", "wphil", "flash", "--port", self.port],
                              capture_output=True, text=True, timeout=FLASH_TIMEOUT_S)
        if proc.returncode:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DeviceError(f"rp2040://: wphil flash failed: {last[0]}")
        self.mark_flashed()

    def mark_flashed(self) -> None:
        """Record that this wphil's firmware is on the board (after any successful flash,
        also `wphil flash --port rp2040://`), so opening it does not flash it again: a flash
        right after a boot can race the firmware's own start-up."""
        (self.state / "flashed").write_text(firmware_source_hash())

    def await_firmware(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """Wait until the firmware answers HELLO: after a boot it first imports its modules,
        which takes the emulator a second or more on a busy machine."""
        with serial.Serial(self.port, baudrate=115200, timeout=0.1) as port:
            await_hello(port, timeout)

    def stderr(self) -> str:
        try:
            return (self.state / "board.stderr").read_text(errors="replace").strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()           # the board process stops node, which saves flash
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> EmulatedPico:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
