"""A serial port with something on it that is not MicroPython: every byte comes back.

What a USB-serial adapter with TX tied to RX does, and near enough what a board running
other firmware that echoes its input does: `wphil flash` must say it is not MicroPython.
"""

from __future__ import annotations

import os
import select
import threading
import tty


class LoopbackPort:
    """A pty whose far end echoes every byte it receives."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._echo, daemon=True)
        self._thread.start()

    def _echo(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                os.write(self.master, os.read(self.master, 4096))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self.slave)

    def __enter__(self) -> LoopbackPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
