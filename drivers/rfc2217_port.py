"""pyserial's RFC 2217 client without its fixed pauses, for a port opened once per job.

pyserial's `rfc2217://` client (serial/rfc2217.py, pyserial 3.5) sleeps for fixed times
that have nothing to do with the line: 0.1 s after each SET_CONTROL when answers are
ignored (`ign_set_control`, needed behind ser2net on a pty: the answers never come;
three per open: flow control, DTR, RTS) "to get the unit tests passed", and 0.3 s in
`close()` "in case of quick reconnects". Measured on a lab in a box (labgrid exporter,
ser2net 4.3, one simulated Pico): 0.6 s of a 1.4 s open + close, paid by every job of a
farm grid (each job opens its place's port and closes it). Here those two waits are
gone; the negotiation itself (BINARY, COM-PORT-OPTION, the port settings, PURGE) is
still waited for, answer by answer, as pyserial does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import serial
from serial import rfc2217

log = logging.getLogger(__name__)


class _Received:
    """The reader thread's bytes as one buffer instead of pyserial's queue of single bytes
    (a `get` and a thread wake-up per byte: 24 ms per 100-byte reply on a busy host)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ended = False
        self.cond = threading.Condition()

    def put(self, item: bytes | None) -> None:         # the reader thread; None: gone
        with self.cond:
            if item is None:
                self.ended = True
            else:
                self.data += item
            self.cond.notify()

    def qsize(self) -> int:
        return len(self.data)

    def get(self, block: bool = True, timeout: float | None = None) -> bytes:
        with self.cond:                                # reset_input_buffer: get(False)
            if not self.data:
                raise queue.Empty
            out = bytes(self.data)
            self.data.clear()
            return out

    def take(self, size: int, timeout: float | None, alive) -> bytes:  # noqa: ANN001
        """Up to `size` bytes, waiting until there are some or `timeout` has passed."""
        until = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while not self.data and not self.ended:
                if not alive():
                    raise serial.SerialException("connection failed (reader thread died)")
                left = 0.1 if until is None else min(0.1, until - time.monotonic())
                if left <= 0:
                    break
                self.cond.wait(left)
            out = bytes(self.data[:size])
            del self.data[:size]
            return out


class Rfc2217Port(rfc2217.Serial):
    """pyserial's RFC 2217 port, minus the fixed sleeps after SET_CONTROL and in close(),
    with the bytes received kept in one buffer."""

    def open(self) -> None:
        super().open()
        # negotiated and purged: nothing of the device's has arrived yet
        self._read_buffer = _Received()

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise serial.PortNotOpenError()
        buffer = self._read_buffer
        if not isinstance(buffer, _Received):
            return super().read(size)
        return buffer.take(size, self._timeout,
                           lambda: self._thread is not None and self._thread.is_alive())

    def rfc2217_set_control(self, value: bytes) -> None:
        item = self._rfc2217_options["control"]
        item.set(value)
        if not self._ignore_set_control_answer:
            item.wait(self._network_timeout)

    def close(self) -> None:
        self.is_open = False
        if self._socket:
            try:
                self._socket.shutdown(rfc2217.socket.SHUT_RDWR)
                self._socket.close()
            except OSError:
                pass
        if self._thread:
            self._thread.join(7)        # pyserial's bound: more than its socket timeout
            self._thread = None
        self._socket = None


def open_rfc2217(url: str, baudrate: int, timeout: float) -> serial.SerialBase:
    """An open `rfc2217://HOST:PORT[?options]` port (serial.SerialException if it fails)."""
    port = Rfc2217Port(None, baudrate=baudrate, timeout=timeout)
    port.port = url
    port.open()
    return port
