"""Simulated boards that stay up: the firmware under the MicroPython unix port on a pty,
reachable by URL (`serial:///dev/pts/N`) until stopped, like a Pico left plugged in.

A `upy://` device starts a board for itself and stops it on close. A bench farm needs
boards that serve job after job and take each job's board instance from the host
(SIM_BOARD, drivers/sim_seeds.py); `standing_boards(3)` gives three, for tests and for
trying `wphil bench learn --device URL,URL,URL` without hardware or labgrid. (A labgrid
lab in a box puts such boards behind ser2net.)
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import serial

from wphil.drivers.bench_files import load_bench
from wphil.drivers.handshake import await_hello
from wphil.drivers.upy import SimBoardProcess, sim_board_file

log = logging.getLogger(__name__)

BOOT_S = 30.0          # a unix-port board on a busy 2-core machine may take seconds to boot


class StandingBoard:
    """One simulated board process on a pty; `url` reaches it, `stop()` ends it."""

    def __init__(self, bench: str = "xor-2-2-1", board_seed: int | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="wphil-standing-"))
        options = {} if board_seed is None else {"board_seed": board_seed}
        board_file = sim_board_file(load_bench(bench), self.workdir, options)
        self.process = SimBoardProcess(board_file, self.workdir)
        try:
            with serial.Serial(self.process.port, 115200, timeout=0.1) as port:
                self.hello = await_hello(port, BOOT_S)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"serial://{self.process.port}"

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def kill(self) -> None:
        """The board dies (its process is killed); its port stays, and nothing answers."""
        self.process.proc.kill()
        self.process.proc.wait()

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def standing_boards(n: int, bench: str = "xor-2-2-1") -> Iterator[list[StandingBoard]]:
    """`n` standing simulated boards, each with a distinct board instance until told one."""
    boards: list[StandingBoard] = []
    try:
        for i in range(n):
            boards.append(StandingBoard(bench, board_seed=1000 + i))
        yield boards
    finally:
        for board in boards:
            board.stop()
