"""Open bench instruments through pyvisa by resource name, with one clear error each way.

Resource names are pyvisa's (`USB0::0x2A8D::0x1301::MY12345678::INSTR`,
`TCPIP0::10.0.0.5::INSTR`, `TCPIP0::10.0.0.5::5025::SOCKET`, `ASRL/dev/ttyUSB0::INSTR`),
optionally followed by `@BACKEND`: `@py` (pyvisa-py), `@ivi` (NI-VISA or Keysight IO
Libraries), `@sim` (pyvisa-sim with the instruments shipped in
drivers/instruments/sim/instruments.yaml). Without a suffix pyvisa picks: an IVI library
if one is installed, else pyvisa-py.

A malformed name or unknown backend is a `ConfigError` (exit 2); a well-formed name with
no instrument behind it, or one that does not answer *IDN?, is an `InstrumentError` (exit 1).
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError
from pyvisa.rname import InvalidResourceName, parse_resource_name, to_canonical_name

from wphil.drivers.errors import ConfigError, InstrumentError
from wphil.drivers.instruments.scpi import Instrument

log = logging.getLogger(__name__)

BACKENDS = ("py", "ivi", "sim")
#: SCPI over sockets, USB-TMC and VXI-11 all end messages with a line feed
TERMINATION = "\n"
OPEN_TIMEOUT_MS = 2000

I = TypeVar("I", bound=Instrument)  # noqa: E741


def sim_definitions() -> str:
    """Path of the pyvisa-sim YAML with wphil's simulated instruments."""
    return str(resources.files("wphil.drivers.instruments") / "sim" / "instruments.yaml")


def split_backend(resource: str) -> tuple[str, str | None]:
    """`NAME@BACKEND` -> (NAME, BACKEND); the resource name is checked, not opened."""
    name, at, suffix = resource.rpartition("@")
    name, backend = (name, suffix) if at else (resource, None)
    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"unknown VISA backend @{backend} in {resource!r}; valid: "
                          + ", ".join(f"@{b}" for b in BACKENDS))
    try:
        parse_resource_name(name)
    except InvalidResourceName as exc:
        raise ConfigError(f"bad VISA resource name {name!r}: {exc} (e.g. "
                          "TCPIP0::192.168.1.20::5025::SOCKET or USB0::0x2A8D::0x1301::MY123::INSTR)"
                          ) from None
    return name, backend


def resource_manager(backend: str | None) -> pyvisa.ResourceManager:
    spec = {None: "", "py": "@py", "ivi": "@ivi", "sim": f"{sim_definitions()}@sim"}[backend]
    try:
        return pyvisa.ResourceManager(spec)
    except (OSError, ValueError) as exc:
        hint = " (pip install 'wphil[instruments]')" if backend in (None, "py", "sim") else ""
        raise ConfigError(f"VISA backend {('@' + backend) if backend else '(default)'} is not "
                          f"available: {exc}{hint}") from None


def open_instrument(cls: type[I], resource: str, timeout_ms: int | None = None) -> I:
    """Open `resource`, check with *IDN? that it is a `cls`, and return the driver."""
    name, backend = split_backend(resource)
    rm = resource_manager(backend)
    what = f"{cls.KIND} at {resource}"
    if backend == "sim" and to_canonical_name(name) not in rm.list_resources("?*"):
        # pyvisa-sim opens any name and then answers nothing: say so before that
        raise InstrumentError(f"no {cls.KIND} at {resource}: the simulated instruments are "
                              + ", ".join(rm.list_resources("?*")))
    try:
        handle = rm.open_resource(name, open_timeout=OPEN_TIMEOUT_MS)
    except VisaIOError as exc:
        if exc.error_code == constants.StatusCode.error_invalid_resource_name:
            raise ConfigError(f"bad VISA resource name {name!r}: {exc.description}") from None
        raise InstrumentError(f"{what} cannot be opened: {exc.description}") from None
    except ValueError as exc:   # e.g. GPIB without linux-gpib: fixable by the user
        raise ConfigError(f"{what} cannot be opened: {exc}".splitlines()[0]) from None
    except OSError as exc:
        raise InstrumentError(f"{what} cannot be reached: {exc}") from None
    handle.timeout = timeout_ms or getattr(cls, "TIMEOUT_MS", 5000)
    handle.read_termination = handle.write_termination = TERMINATION
    instrument = cls(handle, resource)
    try:
        idn = instrument.identify()
    except BaseException:
        instrument.close()
        raise
    log.info("%s: %s", resource, idn)
    return instrument
