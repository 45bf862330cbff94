"""A farm bench held for a whole grid: its port (and labgrid place) opened once, a device
per job on it.

A bench farm (host/compare/farm.py) runs job after job on each bench. Opened afresh for
every job, a `labgrid://` bench cost each job a coordinator session, a place acquire and
release (~0.6 s on a lab in a box) and an RFC 2217 open (~0.25 s), against ~0.15 s of XOR
training. Held, the first job's device acquires the place and opens the port; each later
job gets a device of its own on that same port: new host state (query counters, weight
codes, link statistics), and still the job's own handshake (HELLO: the firmware check
and the board's identity, recorded with the job), SIM_BOARD with the job's seeds and
CONFIGURE. Only the place and the open port carry over, and the link's sequence numbers
carry on (the firmware answers a repeated number from its reply cache).

The port is the holder's only between jobs: a device takes it on open and gives it back
on a clean close (the board put in its safe state, nothing left unread). A device that
ends any other way closes the port, and the next job opens it again. `close()` closes
the port and releases the place; the farm's bench worker calls it at the grid's end, when
the bench fails under a job, and on Ctrl-C (host/compare/bench_worker.py).
"""

from __future__ import annotations

import logging
from typing import Any

import serial

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench

log = logging.getLogger(__name__)


class HeldBench:
    """One bench of a farm, kept open between the devices of its jobs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port: serial.SerialBase | None = None     # the open port, between two jobs
        self.port_name = ""
        self.usb_serial: str | None = None
        self.last_seq: int | None = None   # the link's last sequence number
        self.coord: Any = None             # labgrid: the coordinator session holding the place
        self.place: str | None = None
        self.resource: Any = None          # labgrid: the place's serial resource
        self.devices = 0                   # devices opened on it (jobs started)
        self.opens = 0                     # times its port was opened

    def open(self, url: str, bench: Bench) -> Device:
        """The job's device on this bench (`url`: the bench's URL with the job's seeds);
        a backend that is not on a serial line, or starts a board process of its own for
        each device (upy://, rp2040://), gets a device per job, nothing held."""
        from wphil.drivers import backend_for, open_device

        backend = backend_for(url)
        if not getattr(backend, "holdable", False):     # SerialDevice says (no import cycle)
            return open_device(url, bench)
        device = backend(url, bench, held=self)
        self.devices += 1
        return device

    def take_port(self) -> serial.SerialBase | None:
        """The open port for a device starting a job (None: it opens one itself)."""
        port, self.port = self.port, None
        if port is not None and not port.is_open:
            return None
        return port

    def keep_port(self, port: serial.SerialBase, name: str, usb_serial: str | None) -> None:
        """A device closed cleanly: its port stays open for the next job."""
        self.port, self.port_name, self.usb_serial = port, name, usb_serial

    def hold_place(self, coord: Any, place: str) -> None:
        """A labgrid place acquired by the first job's device: held until `close()`."""
        self.coord, self.place = coord, place

    def close(self) -> None:
        """Close the port and release the place; never raises (called on every exit)."""
        port, self.port = self.port, None
        try:
            if port is not None:
                port.close()
        except (serial.SerialException, OSError) as exc:
            log.warning("closing %s: %s", self.port_name, exc)
        finally:
            coord = self.coord
            if coord is not None:
                coord.release(self.place)       # interrupted: the next close() releases it
                self.coord = None
                coord.close()
        log.info("bench %s let go after %d jobs (%d port opens)", self.url, self.devices,
                 self.opens)
