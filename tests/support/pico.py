"""An emulated Raspberry Pi Pico for the flash tests: MicroPython's REPL on a pty.

What `wphil flash` talks to on a real Pico is MicroPython's REPL on the USB serial line, a
filesystem whose root is the current directory, and a board that boots `main.py` after every
reset. The emulation gives the same three things with the real MicroPython unix port:

- the REPL: `python -m micropython_unix` with the master end of a pty as its stdin, stdout and
  stderr (a Pico prints tracebacks on the serial line too); mpremote opens the slave path like
  any serial port and uses the real raw REPL and raw-paste mode;
- the filesystem: a folder, the interpreter's working directory;
- the boot: the unix port has no soft reset. Ctrl-D at the friendly REPL (mpremote's reset,
  a Pico's soft reboot) ends the process, so a supervisor thread starts it again, as the
  board, and the boot code runs `main.py` when there is one, with firmware/sim first on
  `sys.path` so the flashed firmware finds the simulated converters instead of the Pico's.
  When `main.py` returns (the firmware's EXIT, Ctrl-C twice) the interpreter stays up and
  gives the REPL (`-i`), as a Pico drops to its REPL when `main.py` ends.

The master end stays *blocking*: the unix port's raw REPL reads a non-blocking stdin as a
stream of bogus characters (every command is then a SyntaxError). A blocking read is also what
the firmware sees on a Pico, where `readinto` waits for the whole buffer. One slave fd is held
for the board's life: when every slave fd is closed (the host closed its port to reopen it,
as `wphil flash` does after a reset) the master's reads would fail with EIO.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from wphil.drivers.bench_files import load_bench
from wphil.drivers.upy import sim_board_file
from wphil.firmware import firmware_dir

SOFT_REBOOT = b"MPY: soft reboot\r\n"     # what a Pico prints when it resets into main.py
REBOOT_S = 0.05                          # pause between the end of one boot and the next

_BOOT = """\
import os, sys
sys.path[:] = [%r, '']
try:
    os.stat('main.py')
except OSError:
    pass
else:
    try:
        import main
    except BaseException as exc:
        sys.print_exception(exc)
"""


class EmulatedPico:
    """A board folder served as a Pico's filesystem over a pty, rebooting like a Pico."""

    def __init__(self, root: Path, workdir: Path, bench: str = "xor-2-2-1") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        board_file = sim_board_file(load_bench(bench), workdir, {})
        self.env = dict(os.environ, WPHIL_SIM_BOARD=str(board_file), WPHIL_FIRMWARE_DIR="")
        self.env.pop("MICROPYPATH", None)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.boots = 0
        self.proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()          # no new boot once stop() has begun
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name=f"pico {self.port}",
                                        daemon=True)
        self._thread.start()
        self._started.wait(10)
        atexit.register(self.stop)         # a test run cut short must not leave boards running

    def _boot(self) -> subprocess.Popen:
        code = _BOOT % str(firmware_dir() / "sim")
        return subprocess.Popen([sys.executable, "-m", "micropython_unix", "-i", "-c", code],
                                cwd=self.root, env=self.env, stdin=self.master,
                                stdout=self.master, stderr=self.master)

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self.proc = self._boot()
                self.boots += 1
            self._started.set()
            self.proc.wait()
            if self._stopping.is_set():
                break
            os.write(self.master, SOFT_REBOOT)
            time.sleep(REBOOT_S)

    def stop(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._thread.join(5)
        for fd in (self.master, self.slave):
            os.close(fd)
        atexit.unregister(self.stop)

    def __enter__(self) -> EmulatedPico:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
