"""libngspice through ctypes, in a worker process: DC sweeps or transients of a netlist,
vectors back.

ngspice's shared-library API (`ngSpice_Init`, `ngSpice_Circ`, `ngSpice_Command`,
`ngGet_Vec_Info`) costs a few microseconds per call, so the analog core can be solved
thousands of times a second. It runs in a child process because a netlist error can
leave libngspice unusable for the rest of the process that loaded it: the child reports
the error and exits, and the next solve starts a fresh child.

Debian/Ubuntu: `apt-get install libngspice0`. Without it, `SpiceEngine` raises one
`DeviceError` that names the package.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import socket
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

import numpy as np

from wphil.drivers.errors import DeviceError

log = logging.getLogger(__name__)

APT_PACKAGE = "libngspice0"
_LIB_NAMES = ("libngspice.so.0", "libngspice.so")
#: seconds a solve may take before the worker is presumed hung
SOLVE_TIMEOUT_S = 60.0


def find_libngspice() -> str | None:
    """Path or soname of libngspice that ctypes can load, or None."""
    found = ctypes.util.find_library("ngspice")
    for name in ((found,) if found else ()) + _LIB_NAMES:
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return None


def require_libngspice() -> str:
    lib = find_libngspice()
    if lib is None:
        raise DeviceError(f"spice:// needs libngspice (ngspice's shared library): "
                          f"install the Debian/Ubuntu package {APT_PACKAGE} "
                          f"(sudo apt-get install {APT_PACKAGE})")
    return lib


class SpiceError(DeviceError):
    """ngspice refused a netlist or failed to solve it."""


# -- the child side --------------------------------------------------------------------
class _VectorInfo(ctypes.Structure):
    _fields_ = [("v_name", ctypes.c_char_p), ("v_type", ctypes.c_int),
                ("v_flags", ctypes.c_short), ("v_realdata", ctypes.POINTER(ctypes.c_double)),
                ("v_compdata", ctypes.c_void_p), ("v_length", ctypes.c_int)]


_SendChar = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_SendStat = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_ControlledExit = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_bool, ctypes.c_bool,
                                   ctypes.c_int, ctypes.c_void_p)
_SendData = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                             ctypes.c_void_p)
_SendInitData = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_BGThreadRunning = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p)


class _Ngspice:
    """The loaded library in this (child) process; collects what ngspice prints."""

    def __init__(self, lib_name: str) -> None:
        self.lib = ctypes.CDLL(lib_name)
        self.errors: list[str] = []
        self.exited = False
        # keep the callbacks referenced: ngspice calls them for the life of the process
        self._callbacks = (_SendChar(self._on_char), _SendStat(lambda *a: 0),
                           _ControlledExit(self._on_exit), _SendData(lambda *a: 0),
                           _SendInitData(lambda *a: 0), _BGThreadRunning(lambda *a: 0))
        self.lib.ngSpice_Init(*self._callbacks, None)
        self.lib.ngSpice_Command.argtypes = [ctypes.c_char_p]
        self.lib.ngSpice_Circ.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        self.lib.ngGet_Vec_Info.argtypes = [ctypes.c_char_p]
        self.lib.ngGet_Vec_Info.restype = ctypes.POINTER(_VectorInfo)

    def _on_char(self, text: bytes, _id: int, _user: object) -> int:
        line = text.decode(errors="replace")
        if line.startswith("stderr") and ("rror" in line or "fatal" in line.lower()):
            self.errors.append(line[7:].strip())
        return 0

    def _on_exit(self, status: int, _unload: bool, _quit: bool, _id: int, _user: object) -> int:
        self.exited = True
        self.errors.append(f"ngspice exited with status {status}")
        return 0

    def command(self, cmd: str) -> None:
        if self.lib.ngSpice_Command(cmd.encode()) != 0:
            self.errors.append(f"command {cmd!r} failed")

    def solve(self, lines: Sequence[str], vectors: Sequence[str], points: int) -> np.ndarray:
        self.errors.clear()
        array = (ctypes.c_char_p * (len(lines) + 1))(*[ln.encode() for ln in lines], None)
        if self.lib.ngSpice_Circ(array) != 0 or self.errors:
            raise SpiceError("ngspice rejected the netlist: " + "; ".join(self.errors[-3:]))
        self.command("run")
        if self.errors:
            raise SpiceError("ngspice could not solve the circuit: " + "; ".join(self.errors[-3:]))
        columns = []
        for name in vectors:
            info = self.lib.ngGet_Vec_Info(name.encode())
            if not info or info.contents.v_length < max(points, 1):
                raise SpiceError(f"ngspice returned no vector {name!r} with {points} points")
            length = points or info.contents.v_length
            columns.append(np.ctypeslib.as_array(info.contents.v_realdata,
                                                 (info.contents.v_length,))[:length].copy())
        if len({len(col) for col in columns}) > 1:
            raise SpiceError("ngspice returned vectors of different lengths")
        out = np.array(columns)
        # without these every later run slows down: old plots and circuits pile up
        self.command("destroy all")
        self.command("remcirc")
        return out


def _worker_main(conn: Connection, lib_name: str) -> None:
    """The child: solve requests until the pipe closes or a solve fails."""
    ngspice = _Ngspice(lib_name)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", ngspice.solve(*request)))
        except SpiceError as exc:
            conn.send(("error", str(exc)))
            return            # this process's libngspice may be poisoned: let a new one start
        except Exception as exc:  # noqa: BLE001 - reported to the parent, then exit
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return


if __name__ == "__main__":
    # python -m <this module> SOCKET_FD LIB: ngspice may print to stdout itself, so
    # requests and replies travel on their own socket, not on stdin/stdout
    _worker_main(Connection(int(sys.argv[1])), sys.argv[2])


# -- the parent side ---------------------------------------------------------------------
class SpiceEngine:
    """Solves netlists in a worker process running libngspice; restarts it after an error.

    The worker is a plain `python -m` child (not multiprocessing), so user scripts need
    no `if __name__ == "__main__"` guard.
    """

    def __init__(self) -> None:
        self.lib_name = require_libngspice()
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(child.fileno()), self.lib_name],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        child.close()
        self._conn = Connection(parent.detach())
        log.debug("ngspice worker started (pid %s)", self._proc.pid)

    def solve(self, lines: Sequence[str], vectors: Sequence[str], points: int) -> np.ndarray:
        """Vectors (len(vectors), points) of the analysis the netlist `lines` runs; points=0:
        every point it computed (a `.tran`: ask for the "time" vector too)."""
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self.restarts += 1
            self._start()
        assert self._conn is not None
        try:
            self._conn.send((list(lines), list(vectors), points))
            if not self._conn.poll(SOLVE_TIMEOUT_S):
                self._stop()
                raise SpiceError(f"ngspice did not answer within {SOLVE_TIMEOUT_S:.0f} s")
            status, payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            self._stop()
            raise SpiceError(f"ngspice worker died: {exc}") from None
        if status != "ok":
            self._stop()
            raise SpiceError(payload)
        return payload

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def close(self) -> None:
        self._stop()
        self._proc = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
