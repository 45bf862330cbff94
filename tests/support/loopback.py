"""Serial ports with something on them that is not MicroPython.

`LoopbackPort()`: every byte comes back, as from a USB-serial adapter with TX tied to RX or
a board whose firmware echoes its input. `LoopbackPort(chatter=b"...")`: also prints that
every millisecond and never stops, like a sketch printing in a loop. `wphil flash` must say
of both, in bounded time, that they are not MicroPython.
"""

from __future__ import annotations

import os
import select
import threading
import tty


class LoopbackPort:
    """A pty whose far end echoes every byte it receives (and chatters, if given)."""

    def __init__(self, chatter: bytes = b"") -> None:
        self.chatter = chatter
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._echo, daemon=True)
        self._thread.start()

    def _echo(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.001 if self.chatter else 0.05)
            if ready:
                os.write(self.master, os.read(self.master, 4096))
            if self.chatter:
                os.write(self.master, self.chatter)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self.slave)

    def __enter__(self) -> LoopbackPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
