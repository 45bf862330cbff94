"""Device URLs: pick a backend by scheme, parse and check its query options.

Like pyserial's `serial_for_url`: `mock://`, `upy://`, a port path (`/dev/ttyACM0`,
`COM3`), `serial://PATH`, `auto`, or pyserial's own `rfc2217://`, `socket://`, `loop://`,
and `labgrid://PLACE` (a place on a labgrid coordinator).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wphil.drivers.errors import ConfigError

#: scheme -> "module:Class" of the backend, imported only when used.
BACKENDS: dict[str, str] = {
    "mock": "wphil.drivers.mock:MockDevice",
    "upy": "wphil.drivers.upy:UpyDevice",
    "spice": "wphil.drivers.spice:SpiceDevice",
    "rp2040": "wphil.drivers.rp2040:Rp2040Device",
    "serial": "wphil.drivers.serial_device:SerialDevice",
    "rfc2217": "wphil.drivers.serial_device:SerialDevice",
    "socket": "wphil.drivers.serial_device:SerialDevice",
    "loop": "wphil.drivers.serial_device:SerialDevice",
    "labgrid": "wphil.drivers.labgrid_device:LabgridDevice",
}


def scheme_of(url: str) -> str:
    """The backend scheme of a URL; plain port names and `auto` mean serial."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    return "serial"


def _named(name: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    convert.__name__ = name          # what parse_options says the value must be
    return convert


def _at_least(kind: type, lo: float, strict: bool = False) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        value = kind(text)
        if value < lo or (strict and value == lo):
            raise ValueError(text)
        return value
    return convert


#: URL option converters whose ValueError names the range: seeds and counts, durations, volts
natural = _named("an integer >= 0", _at_least(int, 0))
positive = _named("a number > 0", _at_least(float, 0.0, strict=True))
non_negative = _named("a number >= 0", _at_least(float, 0.0))


def _zero_or_one(text: str) -> int:
    if text not in ("0", "1"):
        raise ValueError(text)
    return int(text)


#: an on/off URL option: exactly 0 or 1 (`nominal=2` is a typo, not "on")
flag = _named("0 or 1", _zero_or_one)

#: schemes whose URL has a path: `serial:///dev/ttyACM0`; every other one is `scheme://?options`
_WITH_PATH = ("serial", "labgrid")


def parse_options(url: str, allowed: dict[str, Callable[[str], Any]], scheme: str) -> dict[str, Any]:
    """Query options of `url`, converted; unknown or malformed ones are a `ConfigError`."""
    parts = urlsplit(url)
    if parts.fragment or "#" in url:
        raise ConfigError(f"{url}: a device URL has no #fragment; options go after '?'")
    if scheme not in _WITH_PATH and (parts.netloc or parts.path):
        raise ConfigError(f"{url}: {scheme}:// takes no host or path "
                          f"({(parts.netloc + parts.path)!r}); options go after '?': "
                          f"{scheme}://?name=value")
    options: dict[str, Any] = {}
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        if name not in allowed:
            valid = ", ".join(allowed) or "none"
            raise ConfigError(f"{url}: unknown option {name!r} for {scheme}://; valid: {valid}")
        if name in options:
            raise ConfigError(f"{url}: option {name} is given twice; give it once")
        try:
            options[name] = allowed[name](raw)
        except ValueError:
            raise ConfigError(f"{url}: option {name}={raw!r} must be "
                              f"{getattr(allowed[name], '__name__', 'valid')}") from None
        if isinstance(options[name], float) and not math.isfinite(options[name]):
            raise ConfigError(f"{url}: option {name}={raw!r} must be a finite number")
    return options
