"""A labgrid place: find it on the coordinator, acquire it, find its serial port, release it.

labgrid (https://labgrid.org) splits a lab into exporters, which publish each machine's
serial ports (through ser2net) as `NetworkSerialPort` resources, and a coordinator, which
groups resources into places and lets one user at a time acquire a place. This module is
the client side of that, on labgrid's own client API (`labgrid.remote.client`): nothing
here speaks the coordinator's protocol itself.

The coordinator is `LG_COORDINATOR` (HOST:PORT, as for labgrid-client) unless given, else
the lab in a box that `wphil farm up` runs, else labgrid's default 127.0.0.1:20408.
A holder is labgrid's `HOST/USER` (`LG_HOSTNAME`, `LG_USERNAME` override them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import io
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wphil.drivers.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

DEFAULT_COORDINATOR = "127.0.0.1:20408"     # labgrid-client's default
#: how often a waiting client looks at the place again
POLL_S = 0.2
#: how long an acquire interrupted by Ctrl-C may still take before it is undone
UNDO_S = 10.0


class PlaceBusy(DeviceError):
    """The place is acquired by someone else."""

    def __init__(self, place: str, holder: str) -> None:
        super().__init__(f"labgrid place {place} is held by {holder}; wait for it with "
                         f"labgrid://{place}?wait=SECONDS, or ask {holder.split('/')[-1]} to "
                         f"release it (labgrid-client -p {place} release)")
        self.holder = holder


class _LabgridRootLogs(logging.Filter):
    """labgrid's client logs a lost coordinator on the root logger (`logging.error`), which
    the CLI would print beside its own one-line error: keep it in our log, at info."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "labgrid" in record.pathname.replace("\\", "/").split("/"):
            log.info("labgrid: %s", record.getMessage())
            return False
        return True


_ROOT_FILTER = _LabgridRootLogs()


def _client() -> Any:
    try:
        from labgrid.remote import client
    except ImportError:
        raise ConfigError("labgrid:// needs labgrid: pip install 'wphil[labgrid]'") from None
    return client


def farm_state_file() -> Path:
    """Where `wphil farm up` describes the lab in a box it runs (host/lab/farm.py)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return cache / "wphil" / "farm.json"


def coordinator_address(given: str | None = None) -> str:
    """The coordinator to use: `given`, else LG_COORDINATOR, else the one of a running
    `wphil farm up`, else labgrid's default."""
    if given or os.environ.get("LG_COORDINATOR"):
        return given or os.environ["LG_COORDINATOR"]
    try:
        return json.loads(farm_state_file().read_text())["coordinator"]
    except (OSError, ValueError, KeyError):
        return DEFAULT_COORDINATOR


@dataclass(frozen=True)
class SerialResource:
    """Where a place's `NetworkSerialPort` is reached: the ser2net TCP port on the exporter."""

    host: str
    port: int | None       # None while no one holds the place (labgrid starts ser2net then)
    speed: int
    protocol: str          # "rfc2217" or "raw", as the exporter publishes it
    exporter: str


@dataclass(frozen=True)
class PlaceState:
    name: str
    holder: str | None        # HOST/USER, None when free
    comment: str
    serial: SerialResource | None
    tags: dict[str, str]


class Coordinator:
    """A session with a labgrid coordinator (labgrid's `ClientSession`), for one thread.

    Get it with `Coordinator.connect(address)`: the devices and listings of one thread share
    one session per coordinator (a second session started on the same event loop fails to
    connect), counted, so each user `close()`s its own."""

    _shared = threading.local()

    @classmethod
    def connect(cls, address: str | None = None) -> Coordinator:
        table = cls._shared.__dict__.setdefault("table", {})
        address = coordinator_address(address)
        if address not in table:
            table[address] = cls(address)
        table[address].users += 1
        return table[address]

    def __init__(self, address: str) -> None:
        self.address = address
        self.users = 0
        client = _client()
        logging.getLogger().addFilter(_ROOT_FILTER)       # once: filters are a set
        self._errors = (client.Error, OSError)
        args = argparse.Namespace(place=None, allow_unmatched=False, kick=False)
        try:
            with _quiet():
                self.session = client.start_session(self.address, extra={"args": args})
        except Exception as exc:   # grpc raises its own types; labgrid ServerError
            raise DeviceError(f"cannot reach the labgrid coordinator at {self.address}: "
                              f"{_one_line(exc)} (is labgrid-coordinator running? "
                              "LG_COORDINATOR or ?coordinator=HOST:PORT)") from None
        self.loop = self.session.loop
        self.user = f"{self.session.gethostname()}/{self.session.getuser()}"

    def sync(self) -> None:
        """Let the session take the coordinator's latest place and resource updates."""
        self.loop.run_until_complete(self.session.sync_with_coordinator())

    def place_names(self) -> list[str]:
        return sorted(self.session.places)

    def state(self, name: str) -> PlaceState:
        place = self._place(name)
        return PlaceState(name, place.acquired or None, place.comment or "",
                          self._serial_of(place), dict(place.tags))

    def acquire(self, name: str, wait_s: float = 0.0) -> None:
        """Acquire the place; PlaceBusy naming the holder, at once or after `wait_s`."""
        until = time.monotonic() + wait_s
        while True:
            place = self._place(name)
            if not place.acquired:
                try:
                    self._acquire_or_undo(name)
                    log.info("acquired labgrid place %s as %s", name, self.user)
                    return
                # KeyError: labgrid's client reads a resource whose exporter is going away
                # (its entry has lost its `cls`: client.check_matches, seen with labgrid 26.0.1)
                except (*self._errors, KeyError) as exc:
                    self.sync()
                    if not self._place(name).acquired:       # not a race lost: a real error
                        raise DeviceError(f"cannot acquire labgrid place {name}: "
                                          f"{_one_line(exc)}") from None
            holder = self._place(name).acquired
            if time.monotonic() >= until:
                raise PlaceBusy(name, holder)
            log.info("labgrid place %s is held by %s; waiting", name, holder)
            self.loop.run_until_complete(asyncio.sleep(POLL_S))

    def _acquire_or_undo(self, name: str) -> None:
        """Acquire the free place; Ctrl-C meanwhile (the coordinator may have granted it
        already: the exporter is starting its ser2net) waits for the answer and releases."""
        task = self.loop.create_task(self.session._acquire_place(name))
        try:
            with _quiet():
                self.loop.run_until_complete(task)
        except KeyboardInterrupt:
            with _quiet():
                self.loop.run_until_complete(asyncio.wait([task], timeout=UNDO_S))
            self.release(name)
            raise

    def release(self, name: str) -> None:
        """Release the place if this user holds it; never raises (called on every exit)."""
        try:
            self.sync()
            place = self.session.places.get(name)
            if place is None or place.acquired != self.user:
                return
            with _quiet():
                self.loop.run_until_complete(self.session._release_place(name))
            log.info("released labgrid place %s", name)
        except Exception as exc:  # noqa: BLE001 - a failed release must not hide the run's own error
            log.warning("could not release labgrid place %s: %s", name, _one_line(exc))

    def serial_of(self, name: str) -> SerialResource:
        """The place's NetworkSerialPort as acquired now (its exporter may have moved it)."""
        try:
            self.sync()
            serial = self._serial_of(self._place(name), acquired=True)
        except self._errors as exc:
            raise DeviceError(f"labgrid place {name}: the coordinator at {self.address} does "
                              f"not answer: {_one_line(exc)}") from None
        if serial is None:
            raise DeviceError(f"labgrid place {name} has no NetworkSerialPort now (its exporter "
                              "is gone, or the place matches no serial port)")
        return serial

    def close(self) -> None:
        """One user less; the session stops with the last one."""
        self.users -= 1
        if self.users > 0:
            return
        self._shared.table.pop(self.address, None)
        try:
            self.loop.run_until_complete(self.session.stop())
            self.loop.run_until_complete(self.session.close())
        except Exception as exc:  # noqa: BLE001
            log.debug("closing the labgrid session: %s", exc)

    # -- internals ----------------------------------------------------------------------
    def _place(self, name: str) -> Any:
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(self.place_names()) or "none"
            raise ConfigError(f"labgrid://{name}: no such place on the coordinator at "
                              f"{self.address} (places: {known})")
        return place

    def _serial_of(self, place: Any, acquired: bool = False) -> SerialResource | None:
        """The first NetworkSerialPort the place matches (acquired: that it holds now)."""
        for exporter, groups in sorted(self.session.resources.items()):
            for group_name, group in sorted(groups.items()):
                for resource_name, entry in sorted(group.items()):
                    cls = entry.data.get("cls")        # none once its exporter has gone
                    path = (exporter, group_name, cls, resource_name)
                    if cls != "NetworkSerialPort" or place.getmatch(path) is None:
                        continue
                    if acquired and (not entry.avail or entry.acquired != place.name):
                        continue
                    args = entry.args
                    port = int(args["port"]) if args.get("port") else None
                    if acquired and port is None:
                        continue
                    return SerialResource(args["host"], port,
                                          int(args.get("speed", 115200)),
                                          args.get("protocol", "rfc2217"), exporter)
        return None


def _forget_sessions() -> None:
    """In a forked process: its parent's sessions are not its own (their gRPC channels and
    event loop are the parent's); it connects afresh (a farm's bench worker)."""
    Coordinator._shared = threading.local()


os.register_at_fork(after_in_child=_forget_sessions)


def expand_places(pattern: str, coordinator: str | None = None) -> list[str]:
    """`labgrid://NAME` URLs of the places whose names match a glob (`labgrid://bench*`)."""
    name = pattern.removeprefix("labgrid://").split("?", 1)[0]
    coord = Coordinator.connect(coordinator)
    try:
        return [f"labgrid://{n}" for n in coord.place_names() if fnmatch.fnmatchcase(n, name)]
    finally:
        coord.close()


def list_places(coordinator: str | None = None) -> list[PlaceState]:
    """Every place on the coordinator with its holder and serial port."""
    coord = Coordinator.connect(coordinator)
    try:
        return [coord.state(name) for name in coord.place_names()]
    finally:
        coord.close()


@contextlib.contextmanager
def _quiet():  # noqa: ANN202
    """labgrid's client prints its progress ("acquired place ..."); library code logs."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            yield
    finally:
        for line in out.getvalue().splitlines():
            log.info("labgrid: %s", line)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
