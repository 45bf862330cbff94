"""What the rp2040:// benchmark scripts run on the emulated board's raw REPL in common: the
firmware's server fed from RAM instead of the USB line (so a measurement times the firmware,
not the host link), a stand-in for the board object the server expects, and the board
itself: booted, flashed and at its raw REPL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.handshake import Probe
from wphil.drivers.repl import BoardRepl
from wphil.drivers.rp2040_pico import EmulatedPico, board_spec, find_uf2
from wphil.firmware import protocol as P
from wphil.lab.flash import flash, open_serial

# MicroPython source: a stream the server reads requests from and writes replies to (dropped)
MEMIO = r"""
class MemIO:
    def __init__(self): self.data, self.pos = b'', 0
    def readable(self, t): return self.pos < len(self.data)
    def readinto(self, mv, t):
        n = min(len(mv), len(self.data) - self.pos)
        if n <= 0: return 0
        mv[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n
    def write(self, b): pass
    def close(self): pass
class Board: pass
"""


@contextmanager
def board_repl(bench: Bench) -> Iterator[BoardRepl]:
    """A fresh emulated Pico for `bench`, flashed through the real path, its firmware told to
    EXIT, and its raw REPL entered (a 120 s read timeout: the scripts' runs are long)."""
    with tempfile.TemporaryDirectory() as state, \
            EmulatedPico(board_spec(bench, {}, Path(state), find_uf2())).start() as pico:
        flash(pico.port)
        with open_serial(pico.port) as port:        # EXIT: the firmware returns to the REPL
            Probe(port).request(P.EXIT, timeout=60, attempts=1)
        with BoardRepl(pico.port) as repl:
            repl.enter(timeout=60)
            repl.transport.serial.timeout = 120
            yield repl
