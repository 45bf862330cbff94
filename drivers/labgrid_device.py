"""`labgrid://PLACE`: a Pico on a labgrid place, reached through its exporter's ser2net.

URL format: labgrid://PLACE[?option=value&...]
    coordinator=HOST:PORT   the labgrid coordinator (default: LG_COORDINATOR, else the
                            one `wphil farm up` runs, else 127.0.0.1:20408)
    wait=S                  a place held by someone else is waited for up to S seconds
                            (default 0: refused at once, naming the holder)
    transport=rfc2217|raw   how to speak to ser2net (default: what the exporter publishes,
                            rfc2217 for labgrid's own ser2net)
    timeout=S, retries=N, reconnect=S, faults=..., fault_seed=N   as for serial://
    seed=N, board_seed=N    the board instance a simulated board on the place is to be
                            (sent with SIM_BOARD; a real Pico ignores them), as for serial://

The place is acquired on open (labgrid's client API, drivers/labgrid_place.py) and released
on close, on every error and on Ctrl-C; a process killed with SIGKILL leaves it acquired
(release it with `labgrid-client -p PLACE release`). A bench farm's place is held for the
whole grid instead (drivers/held_bench.py): the first job's device acquires it and opens
its port, later jobs' devices use both, and the farm's bench process releases it.
Its `NetworkSerialPort` is opened with pyserial: `rfc2217://HOST:PORT?ign_set_control`,
as labgrid's own SerialDriver does (a pty behind ser2net has no modem lines, so the
answers to SET_CONTROL never come), or `socket://HOST:PORT` for an exporter that
publishes raw TCP. From there it is the serial driver unchanged: handshake, flash check,
CONFIGURE, recovery.

A place whose exporter vanishes mid-run is a vanished board: the driver asks the
coordinator where the place's serial port is now and reopens it until the `reconnect`
deadline, then gives up (exit 1; the run directory keeps every step done).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.held_bench import HeldBench
from wphil.drivers.labgrid_place import Coordinator
from wphil.drivers.serial_device import OPTIONS, SerialDevice
from wphil.drivers.urls import _named, non_negative, parse_options

log = logging.getLogger(__name__)

# A reply crosses ser2net and TCP (and pyserial's RFC 2217 reader thread) in pieces; on a
# busy 2-core host the gap between them exceeded the serial link's 20 ms stall limit on
# most requests (XOR on a lab in a box: 40-68 needless retries in 68 requests, 2.4-3.8 s;
# with 0.2 s: none, 1.6 s). A reply truncated for real is noticed 0.2 s later instead.
NETWORK_STALL_S = 0.2


def _transport(text: str) -> str:
    if text not in ("rfc2217", "raw"):
        raise ValueError(text)
    return text


_OPTIONS = {"coordinator": str, "wait": non_negative,
            "transport": _named("rfc2217 or raw", _transport), **OPTIONS}


def place_of(url: str) -> str:
    """The place a labgrid:// URL names; a ConfigError if it names none."""
    parts = urlsplit(url)
    if not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"{url}: a labgrid URL names one place: labgrid://PLACE[?options] "
                          "(see `wphil devices --labgrid`)")
    return parts.netloc


class LabgridDevice(SerialDevice):
    """The serial driver on a labgrid place's NetworkSerialPort (the place held meanwhile)."""

    def __init__(self, url: str, bench: Bench, held: HeldBench | None = None,
                 **kwargs: Any) -> None:
        opts = self.parse_url(url)
        self.place = place_of(url)
        self.transport = opts.get("transport")
        if held is not None and held.coord is not None:
            # a farm bench held for the grid: the place is acquired already, and stays so
            # whatever this job does (the bench's worker releases it: drivers/held_bench.py)
            self.coord, self.resource = held.coord, held.resource
            super().__init__(url, bench, held=held, **kwargs)
            return
        self.coord = Coordinator.connect(opts.get("coordinator"))
        self.resource = None
        try:
            self.coord.acquire(self.place, opts.get("wait", 0.0))
        except BaseException:
            self.coord.close()
            raise
        if held is not None:        # from now on the held bench releases it
            held.hold_place(self.coord, self.place)
            super().__init__(url, bench, held=held, **kwargs)
            return
        try:
            super().__init__(url, bench, **kwargs)
        except BaseException:
            self.coord.release(self.place)
            self.coord.close()
            raise

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        place_of(url)
        return parse_options(url, _OPTIONS, scheme="labgrid")

    def resolve_port(self, url: str) -> str:  # type: ignore[override]
        """The pyserial URL of the place's serial port, as the coordinator has it now."""
        self.resource = self.coord.serial_of(self.place)
        if self.held is not None:
            self.held.resource = self.resource
        host, port = self.resource.host, self.resource.port
        protocol = self.transport or self.resource.protocol
        if protocol == "raw":
            return f"socket://{host}:{port}"
        return f"rfc2217://{host}:{port}?ign_set_control"

    def connect(self) -> dict[str, Any]:
        self.link.stall_s = NETWORK_STALL_S
        return super().connect()

    def _reopen(self) -> None:
        """The exporter may be back on another port (or another machine): ask again."""
        try:
            self.port_name = self.resolve_port(self.url)
        except DeviceError:
            try:
                self.port.close()
            finally:
                raise DeviceError(f"labgrid place {self.place}: no serial port now "
                                  "(exporter gone)") from None
        super()._reopen()

    def _info(self):  # noqa: ANN202
        info = super()._info()
        details = dict(info.details, place=self.place, holder=self.coord.user,
                       coordinator=self.coord.address,
                       exporter=self.resource.exporter if self.resource else None)
        return type(info)(**{**info.__dict__, "backend": "labgrid", "details": details})

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            if self.held is None:
                self.coord.release(self.place)
                self.coord.close()
