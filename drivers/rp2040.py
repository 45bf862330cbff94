"""`rp2040://`: the firmware on MicroPython's real RP2040 build, on an emulated Pico.

URL format: rp2040://[?option=value&...]
    seed=N, board_seed=N, noise=V, drift=V   the simulated bench, as for upy://
    uf2=PATH        the MicroPython firmware image (default: $WPHIL_PICO_UF2, then
                    ../shared/pico/*.uf2 beside the repository)
    board=NAME      which emulated Pico: its flash (littlefs) and its DAC chips' EEPROM
                    addresses persist in the cache folder of that name (default: pico)
    state=DIR       keep them in DIR instead; fresh=1: a blank Pico in a temporary folder
    dacs=factory    the MCP4728s start as shipped, all at 0x60 (see `wphil dac-address`)
    flash=0         do not flash the firmware on open (it is flashed, through the real
                    `wphil flash` path, whenever the board's files differ from this wphil's)
    timeout=S (default 5: the emulator is slower than a Pico), retries=N, reconnect=S,
    faults=..., fault_seed=N   as for serial://

The emulated board (drivers/rp2040_board.py, node + rp2040js) runs MicroPython's rp2 port
instruction by instruction; its USB CDC port is a pty this backend opens with pyserial as
it would /dev/ttyACM0. The MCP4728s and the ADC are driven by the same numpy model as
mock://, one board instance per board_seed; a recurrent bench's dynamics run on the
emulated clock (drivers/rp2040_physics.py), so SEQUENCE's pacing is the Pico's own.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.faults import FaultSpec
from wphil.drivers.pty_board import PtyBoardDevice
from wphil.drivers.rp2040_pico import EmulatedPico, board_spec, find_uf2, missing, wphil_cache
from wphil.drivers.serial_device import OPTIONS
from wphil.drivers.urls import flag, natural, non_negative, parse_options

log = logging.getLogger(__name__)

_OPTIONS = {"seed": natural, "board_seed": natural, "noise": non_negative, "drift": non_negative,
            "uf2": str, "board": str, "state": str, "fresh": flag, "dacs": str, "flash": flag,
            **OPTIONS}

DEFAULT_TIMEOUT_S = 5.0     # reply timeout (timeout=S); a Pico's default is 2 s

#: boards started in this process and shared by every device opened on them (tests share one)
_RUNNING: dict[str, EmulatedPico] = {}


def state_dir(opts: dict[str, Any]) -> Path:
    """Where the board's flash image and DAC addresses persist."""
    if "state" in opts:
        return Path(opts["state"]).expanduser()
    name = opts.get("board", "pico")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"rp2040://: board={name!r} must be letters, digits, - or _")
    return wphil_cache() / "rp2040" / name


def share(board: EmulatedPico) -> None:
    """Let devices opened with `state=<board's state>` use this running board."""
    _RUNNING[str(board.state)] = board


def unshare(board: EmulatedPico) -> None:
    _RUNNING.pop(str(board.state), None)


def open_board(opts: dict[str, Any], bench: Bench) -> tuple[EmulatedPico, Callable[[], None]]:
    """The emulated Pico the URL options name, booted (or the running one shared in this
    process), and the function that releases it."""
    reason = missing(opts.get("uf2"))
    if reason:
        raise DeviceError(f"rp2040://: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="wphil-rp2040-")) if opts.get("fresh") else None
    state = tmp or state_dir(opts)
    spec = board_spec(bench, opts, state, find_uf2(opts.get("uf2")))
    running = _RUNNING.get(str(state))
    if running is not None:
        running.check_spec(spec)
        return running, lambda: None
    state.mkdir(parents=True, exist_ok=True)
    lock = os.open(state / "lock", os.O_CREAT | os.O_RDWR)
    board: EmulatedPico | None = None

    def release() -> None:
        if board is not None:
            board.stop()
        os.close(lock)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        release()
        raise DeviceError(f"rp2040://: the emulated Pico in {state} is in use by another "
                          "process; give another board=NAME") from None
    try:
        board = EmulatedPico(spec).start()
    except BaseException:
        release()
        raise
    return board, release


@contextlib.contextmanager
def emulated_port(url: str, bench: Bench, flashing: bool = False) -> Iterator[str]:
    """The pty of the emulated Pico `url` names, for `wphil flash --port rp2040://` and
    `wphil dac-address`: booted, not flashed, released on exit. With `flashing`, a block
    that ends without an error has put this wphil's firmware on the board."""
    board, release = open_board(Rp2040Device.parse_url(url), bench)
    try:
        yield board.port
        if flashing:
            board.mark_flashed()
    finally:
        release()


class Rp2040Device(PtyBoardDevice):
    """The firmware on the emulated Pico, driven through the serial driver."""

    scheme = "rp2040"
    # emulated time runs 6-12x slower than a Pico's on an idle machine (a paced step spins
    # instruction by instruction), several times more on a loaded one
    sequence_time_factor = 60.0

    def __init__(self, url: str, bench: Bench, **kwargs: Any) -> None:
        opts = self.parse_url(url)
        self.board, self.release = open_board(opts, bench)
        try:
            if opts.get("flash", 1):
                self.board.ensure_firmware()
            self.board.await_firmware()
            super().__init__(url, bench, **kwargs)
        except BaseException as exc:
            detail = self.board.stderr()
            self._cleanup()
            if detail and isinstance(exc, DeviceError):
                raise DeviceError(f"{exc}; the emulator said: {detail.splitlines()[-1]}") from None
            raise

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        opts = parse_options(url, _OPTIONS, scheme="rp2040")
        # the emulator runs 6-7x slower than a Pico, more on a busy machine
        opts.setdefault("timeout", DEFAULT_TIMEOUT_S)
        if opts.get("dacs", "bench") not in ("bench", "factory"):
            raise ConfigError(f"{url}: dacs= must be bench or factory")
        FaultSpec.parse(opts.get("faults", ""))
        return opts

    def _info(self):  # noqa: ANN202
        info = super()._info()
        details = dict(info.details, uf2=str(self.board.spec["uf2"]) if self.board else None,
                       state=str(self.board.state) if self.board else None)
        return type(info)(**{**info.__dict__, "backend": "rp2040", "details": details})

    def _cleanup(self) -> None:
        release, self.release = self.release, lambda: None
        release()
