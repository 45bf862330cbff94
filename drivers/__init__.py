"""Everything that reaches a device: the `Device` interface, `open_device(url)`, backends."""

from __future__ import annotations

import importlib
import logging

from wphil.drivers.base import Device, DeviceInfo, LimitError, Perturbation
from wphil.drivers.bench import Bench
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import (
    ConfigError,
    DeviceError,
    DeviceTimeout,
    FirmwareError,
    ProtocolError,
    WphilError,
)
from wphil.drivers.urls import BACKENDS, scheme_of

__all__ = [
    "Bench", "ConfigError", "Device", "DeviceError", "DeviceInfo", "DeviceTimeout",
    "FirmwareError", "LimitError", "Perturbation", "ProtocolError", "WphilError",
    "check_url", "load_bench", "open_device",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "mock://"
DEFAULT_BENCH = "xor-2-2-1"


def backend_for(url: str) -> type[Device]:
    """The backend class for `url`; an unknown scheme is a `ConfigError` listing valid ones."""
    scheme = scheme_of(url)
    if url.startswith("-") or not url.strip():
        # `--device --help`: click took the next option as the URL
        raise ConfigError(f"{url!r} is not a device URL; valid: "
                          + ", ".join(f"{s}://" for s in BACKENDS if s != "serial")
                          + ", or a serial port name (/dev/ttyACM0, COM3, auto); options go "
                          "after '?', e.g. mock://?seed=3 (wphil train --help lists them)")
    bare = url.strip().rstrip(":/").lower()
    if scheme == "serial" and bare in BACKENDS and bare != "serial":
        # `--device mock` would otherwise be tried as a serial port named "mock"
        raise ConfigError(f"{url!r} is not a device URL; did you mean {bare}://?")
    if scheme not in BACKENDS:
        raise ConfigError(f"unknown device URL scheme {scheme!r} in {url!r}; valid: "
                          + ", ".join(f"{s}://" for s in BACKENDS if s != "serial")
                          + ", or a serial port name")
    module_name, class_name = BACKENDS[scheme].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def check_url(url: str, onchip: bool = False, bench: Bench | None = None) -> None:
    """Reject a bad URL (scheme or options), one that cannot train on-chip when that is
    asked for, or one whose backend cannot drive `bench`, without opening anything."""
    backend = backend_for(url)
    backend.parse_url(url)
    if onchip and not backend.onchip:
        raise ConfigError(f"--onchip: {url} cannot run the perturbation loop itself; a Pico "
                          "(serial port) or upy:// can")
    if bench is not None:
        backend.check_bench(bench, onchip)


def open_device(url: str = DEFAULT_URL, bench: Bench | str | None = None,
                wire_log: str | None = None) -> Device:
    """Open the device at `url`, configured for `bench`: a `Bench`, a built-in bench name or
    a bench file (default: the built-in XOR bench).

    `wire_log` names a file that gets every frame in both directions (serial devices).
    Raises `ConfigError` (a `ValueError`) for an unknown scheme or option, listing the
    valid ones, and `DeviceError` when the device cannot be reached.
    """
    backend = backend_for(url)
    if wire_log and scheme_of(url) == "mock":
        raise ConfigError(f"--log-wire: {url} is simulated in-process and has no wire to log")
    if not isinstance(bench, Bench):
        bench = load_bench(bench or DEFAULT_BENCH)
    log.debug("opening %s with %s", url, backend.__name__)
    return backend(url, bench, **({"wire_log": wire_log} if wire_log else {}))
