"""`wphil devices`: what is plugged in. Serial ports (Picos first), and VISA instruments.

A Pico (USB vendor 0x2E8A) is asked what it runs without disturbing it: a board running the
wphil firmware answers HELLO and is left serving; only a board that does not answer is asked
for its MicroPython version through the raw REPL, and left at its friendly REPL after. A
port another program holds is reported busy, never taken (pyserial's exclusive lock).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import serial
from serial.tools import list_ports

from wphil.drivers.errors import DeviceError
from wphil.drivers.handshake import Probe
from wphil.drivers.ports import PICO_USB_VID, explain_open_error
from wphil.drivers.repl import BoardRepl

log = logging.getLogger(__name__)

PROBE_REPL_TIMEOUT_S = 1.5
_BACKEND_NAMES = {"pyvisa_py": "pyvisa-py", "pyvisa_sim": "pyvisa-sim"}


@dataclass
class SerialPort:
    port: str
    description: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    pico: bool = False
    micropython: str | None = None      # "1.22.2 (Raspberry Pi Pico with RP2040)"
    firmware: str | None = None         # the wphil firmware version, when it answers
    files: str | None = None            # its files digest
    status: str = ""                    # what the probe found, one line

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def serial_ports(comports: Callable[[], Iterable[Any]] = list_ports.comports,
                 extra: Iterable[str] = (), probe: bool = True) -> list[SerialPort]:
    """The OS's serial ports (plus `extra` names), Picos first; Picos and extras probed."""
    found = [_from_listing(info) for info in comports()]
    listed = {p.port for p in found}
    found += [SerialPort(name, "given with --port") for name in extra if name not in listed]
    found.sort(key=lambda p: (not p.pico, p.port))
    for entry in found:
        if probe and (entry.pico or entry.port in extra):
            probe_port(entry)
    return found


def _from_listing(info: Any) -> SerialPort:
    return SerialPort(info.device, info.description or "", info.vid, info.pid,
                      info.serial_number, info.manufacturer, pico=info.vid == PICO_USB_VID)


def probe_port(entry: SerialPort) -> None:
    """Fill in what the board on this port runs."""
    try:
        port = serial.serial_for_url(entry.port, baudrate=115200, timeout=0.1, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        entry.status = explain_open_error(entry.port, exc).split(": ", 1)[-1]
        return
    with port:
        hello = Probe(port).hello()
    if hello is not None:
        entry.firmware, entry.files = hello.get("firmware"), hello.get("files")
        entry.status = f"wphil firmware {entry.firmware} (files {entry.files})"
        return
    try:
        with BoardRepl(entry.port) as repl:
            repl.enter(PROBE_REPL_TIMEOUT_S)
            board = repl.info()
            repl.leave()
    except DeviceError as exc:
        log.debug("%s: %s", entry.port, exc)
        entry.status = "no answer from MicroPython"
        return
    entry.micropython = f"{board.version} ({board.machine or board.platform})"
    entry.status = f"{board.implementation} {entry.micropython}"


def visa_resources() -> dict[str, Any]:
    """{"backend", "resources"} from pyvisa, or {"backend": None, "error"} without a backend.

    The backend is pyvisa's default (PYVISA_LIBRARY, else a system VISA such as NI-VISA),
    falling back to pyvisa-py when it is installed. pyvisa-py's listing also searches the
    local network for VXI-11 and HiSLIP instruments, which takes a second or two.
    """
    attempts = [""] + (["@py"] if importlib.util.find_spec("pyvisa_py") else [])
    errors: list[str] = []
    quiet = logging.getLogger("pyvisa")     # backends log their resource files' quirks
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            listing = _first_listing(attempts, errors)
    finally:
        quiet.setLevel(level)
    _pass_on(caught)
    return listing


#: warnings wphil cannot act on: pyvisa-py says which optional packages (psutil, zeroconf,
#: pyusb, gpib-ctypes) would widen its search; the listing is complete for what is installed
_THIRD_PARTY = (UserWarning, "pyvisa_py")


def _pass_on(caught: list[warnings.WarningMessage]) -> None:
    """Log the third-party warnings wphil cannot act on (-vv shows them); re-issue the rest."""
    category, package = _THIRD_PARTY
    for w in caught:
        name = (w.filename or "").replace("\\", "/")
        if issubclass(w.category, category) and f"/{package}/" in name:
            log.debug("%s (%s:%s)", w.message, w.filename, w.lineno)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _first_listing(attempts: list[str], errors: list[str]) -> dict[str, Any]:
    import pyvisa

    for spec in attempts:
        try:
            rm = pyvisa.ResourceManager(spec)
        except (OSError, ValueError) as exc:
            errors.append(f"{spec or os.environ.get('PYVISA_LIBRARY') or 'default'}: {exc}")
            continue
        try:
            resources = sorted(rm.list_resources())
            module = type(rm.visalib).__module__.split(".")[0]
            backend = _BACKEND_NAMES.get(module, str(rm.visalib))
        except Exception as exc:  # noqa: BLE001 - any backend failure is reported, not raised
            errors.append(f"{spec or 'default'}: {exc}")
            continue
        finally:
            rm.close()
        return {"backend": backend, "resources": resources}
    log.debug("no VISA backend: %s", "; ".join(errors))
    return {"backend": None, "resources": [],
            "error": "no VISA backend installed (pip install pyvisa-py)"}


def list_devices(extra: Iterable[str] = (), probe: bool = True, visa: bool = True,
                 comports: Callable[[], Iterable[Any]] = list_ports.comports) -> dict[str, Any]:
    """Everything `wphil devices` shows, as plain data."""
    ports = serial_ports(comports, tuple(extra), probe)
    return {"serial": [p.to_dict() for p in ports], "visa": visa_resources() if visa else None}
