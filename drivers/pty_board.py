"""What the simulated boards share (`upy://`, `rp2040://`): a board process this host started,
whose USB serial line is a pseudo-terminal, reached through the ordinary serial driver."""

from __future__ import annotations

import serial

from wphil.drivers.errors import DeviceError
from wphil.drivers.faults import FaultyPort
from wphil.drivers.serial_device import SerialDevice


class PtyBoardDevice(SerialDevice):
    """A `SerialDevice` whose port is the pty of `self.board` (set before `__init__` runs on)."""

    scheme = "?"          # for messages: the URL scheme of the backend
    board = None
    #: its board process is the device's own, gone with it: a farm cannot hold its port
    holdable = False

    def sim_seeds_of(self, url: str, bench) -> None:  # noqa: ANN001
        """The board process was started with its board instance: nothing to send."""
        return None

    def resolve_port(self, url: str) -> str:  # type: ignore[override]
        return self.board.port if self.board else url

    def _open_port(self, name: str) -> serial.SerialBase:
        try:
            port = serial.Serial(name, baudrate=115200, timeout=0.1)
        except serial.SerialException as exc:
            raise DeviceError(f"{self.scheme}://: cannot open the pty {name}: {exc}") from None
        return FaultyPort(port, self.faults) if self.faults.spec.any else port

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        """Stop or release the board process this device started (each backend its own)."""
