"""pyserial's `socket://` client, with `in_waiting` that counts what is waiting.

pyserial's raw-TCP port (serial/urlhandler/protocol_socket.py, pyserial 3.5) answers
`in_waiting` with a zero-timeout select: 1 when anything is readable, else 0. The link reads
`max(1, in_waiting)` bytes at a time, so every reply through a ser2net in raw mode was read
one byte per select and recv: a 4-pattern EVALUATE's reply is a few hundred bytes. Here
`in_waiting` asks the kernel how many bytes the socket holds (FIONREAD), as pyserial does
for a tty; where that ioctl is missing it falls back to pyserial's own answer.
"""

from __future__ import annotations

import array

import serial
from serial.urlhandler import protocol_socket

try:
    import fcntl
    import termios
except ImportError:            # not on Windows: pyserial's own in_waiting there
    fcntl = termios = None     # type: ignore[assignment]


class SocketPort(protocol_socket.Serial):
    """`socket://HOST:PORT` whose `in_waiting` is the number of bytes readable now."""

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise serial.PortNotOpenError()
        if fcntl is None:
            return super().in_waiting
        count = array.array("i", [0])
        fcntl.ioctl(self._socket.fileno(), termios.FIONREAD, count, True)
        return count[0]


def open_socket(url: str, baudrate: int, timeout: float) -> serial.SerialBase:
    """An open `socket://HOST:PORT[?options]` port (serial.SerialException if it fails)."""
    port = SocketPort(None, baudrate=baudrate, timeout=timeout)
    port.port = url
    port.open()
    return port
