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

import serial
from serial import rfc2217

log = logging.getLogger(__name__)


class Rfc2217Port(rfc2217.Serial):
    """pyserial's RFC 2217 port, minus the fixed sleeps after SET_CONTROL and in close()."""

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
