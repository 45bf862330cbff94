"""A MicroPython board's raw REPL, through mpremote: what it runs, its files and their hashes.

mpremote's `SerialTransport` does the raw REPL (and raw-paste mode, which MicroPython 1.14+
offers, with flow control) and its file transfers; this module adds what flashing needs on
top: bounded timeouts, SHA-256 of many files in one round trip, atomic writes, a soft reset
into main.py, and mpremote's errors turned into one-line `DeviceError`s.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import threading
from dataclasses import dataclass
from typing import Any

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from wphil.drivers.errors import DeviceError

log = logging.getLogger(__name__)

MICROPYTHON_DOWNLOAD = "https://micropython.org/download/RPI_PICO/"
REPL_TIMEOUT_S = 6.0     # Ctrl-C + Ctrl-A to the raw REPL banner: milliseconds on a live board
# mpremote reads a pty one byte at a time with the port's timeout and no timeout of its own
# (a pty has no in_waiting it trusts), so without a port timeout a silent pty hangs forever.
READ_TIMEOUT_S = 2.0
# mpremote empties the input before Ctrl-A by reading while anything is waiting: a board that
# never stops talking (a sketch printing in a loop, a firmware that ignores Ctrl-C) keeps it
# there forever. Past this margin over the REPL timeout the port is closed under it.
STUCK_MARGIN_S = 2.0
CTRL_B, CTRL_D = b"\x02", b"\x04"
SOFT_REBOOT = b"soft reboot"

_INFO = """\
import sys
i = sys.implementation
print(repr((i.name, tuple(i.version[:3]), getattr(i, '_mpy', None), sys.platform,
            getattr(i, '_machine', ''))))
"""

# SHA-256 of each file on the board, read in 512-byte chunks into one buffer (the Pico has
# ~200 kB of heap; a whole-file read of the largest module would fragment it).
_SHA256 = """\
import hashlib, binascii
def _sha(name, buf=bytearray(512)):
    try:
        f = open(name, 'rb')
    except OSError:
        return None
    h, mv = hashlib.sha256(), memoryview(buf)
    with f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
    return binascii.hexlify(h.digest()).decode()
print(repr({n: _sha(n) for n in %r}))
"""

_RENAME = """\
import os
try:
    os.rename(%(tmp)r, %(name)r)
except OSError:
    os.remove(%(name)r)
    os.rename(%(tmp)r, %(name)r)
"""

_REMOVE = """\
import os
try:
    os.remove(%r)
except OSError:
    pass
"""


@dataclass(frozen=True)
class BoardInfo:
    """What MicroPython a board runs."""

    implementation: str        # "micropython" (CircuitPython says "circuitpython")
    version: str               # "1.22.2"
    mpy: int | None            # sys.implementation._mpy: .mpy version | sub-version | arch
    platform: str              # "rp2" on a Pico, "linux" under the unix port
    machine: str               # "Raspberry Pi Pico with RP2040"

    @property
    def mpy_version(self) -> int | None:
        """The .mpy (bytecode) version the board loads, or None if it loads no .mpy files."""
        return None if self.mpy is None else self.mpy & 0xFF

    def describe(self) -> str:
        where = self.machine or self.platform
        return f"{self.implementation} {self.version} ({where})"


class BoardRepl:
    """The raw REPL of the board on `port` (a port name or a pyserial URL)."""

    def __init__(self, port: str) -> None:
        self.port = port
        try:
            self.transport = SerialTransport(port, baudrate=115200, timeout=READ_TIMEOUT_S)
        except TransportError as exc:
            raise DeviceError(f"cannot open {port}: {exc}") from None

    def enter(self, timeout: float = REPL_TIMEOUT_S) -> None:
        """Interrupt whatever runs and enter the raw REPL, without a soft reset.

        mpremote's default soft reset on entering is skipped: it reruns nothing useful here,
        and the MicroPython unix port (the test board) has no soft reset at all.
        """
        said = io.StringIO()
        watchdog = threading.Timer(timeout + STUCK_MARGIN_S, self.transport.serial.close)
        watchdog.start()
        try:
            with contextlib.redirect_stdout(said):      # mpremote prints what it got on failure
                self.transport.enter_raw_repl(soft_reset=False, timeout_overall=timeout)
        except (TransportError, OSError, TypeError) as exc:     # TypeError: read on a closed port
            got = said.getvalue().strip()
            log.debug("%s: raw REPL not entered: %s; board sent %s", self.port, exc, got)
            raise DeviceError(
                f"{self.port} does not answer like MicroPython (no raw REPL prompt within "
                f"{timeout:.0f} s{'; it sent ' + got[:60] if got else ''}): is MicroPython "
                f"installed ({MICROPYTHON_DOWNLOAD}) and no program running that ignores "
                "Ctrl-C?") from None
        finally:
            watchdog.cancel()
            watchdog.join()     # a close under way must finish before anything else uses the port

    def run(self, code: str, what: str) -> str:
        """Run code in the raw REPL; its output. `what` names the step in errors."""
        try:
            return self.transport.exec(code).decode(errors="replace")
        except TransportExecError as exc:
            last = exc.error_output.strip().splitlines()[-1:] or ["no message"]
            raise DeviceError(f"{self.port}: {what} failed on the board: {last[0]}") from None
        except (TransportError, OSError) as exc:
            raise DeviceError(f"{self.port}: {what}: lost the raw REPL ({exc})") from None

    def evaluate(self, code: str, what: str) -> Any:
        return ast.literal_eval(self.run(code, what).strip())

    def info(self) -> BoardInfo:
        name, version, mpy, platform, machine = self.evaluate(_INFO, "reading sys.implementation")
        return BoardInfo(name, ".".join(str(v) for v in version), mpy, platform, machine)

    def sha256(self, names: list[str]) -> dict[str, str | None]:
        """Hex SHA-256 of each file (None where there is no such file), hashed on the board."""
        return self.evaluate(_SHA256 % (list(names),), "hashing files")

    def write(self, name: str, data: bytes) -> None:
        """Write a file so that it is either the old or the new one, never half of it."""
        tmp = name + ".part"
        try:
            self.transport.fs_writefile(tmp, data)
        except (TransportError, OSError) as exc:
            raise DeviceError(f"{self.port}: writing {name} failed: {exc}") from None
        self.run(_RENAME % {"tmp": tmp, "name": name}, f"renaming {tmp} to {name}")

    def remove(self, name: str) -> None:
        self.run(_REMOVE % name, f"removing {name}")

    def soft_reset(self) -> None:
        """Friendly REPL, then Ctrl-D: the board reboots into main.py, as after power-up.

        A soft reset keeps USB up on a Pico (machine.reset() would re-enumerate the port).
        Ctrl-D in the *raw* REPL would reset without running main.py.
        """
        serial_port = self.transport.serial
        try:
            self.transport.exit_raw_repl()
            serial_port.write(CTRL_D)
            serial_port.flush()
            seen = self.transport.read_until(1, SOFT_REBOOT, timeout=1.0)
        except (TransportError, OSError) as exc:
            raise DeviceError(f"{self.port}: reset failed: {exc}") from None
        log.debug("%s: after Ctrl-D: %r", self.port, seen[-80:])

    def leave(self) -> None:
        """Back to the friendly REPL, the board left as it is."""
        with contextlib.suppress(TransportError, OSError):
            self.transport.exit_raw_repl()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.transport.close()

    def __enter__(self) -> BoardRepl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
