"""`wphil dac-address`: give one MCP4728 on the bench its own I2C address.

MCP4728s ship at 0x60; a bench with several needs them at 0x60, 0x61, ... (chip k at
0x60 + k, as the firmware expects). The firmware's dac_address module sends the chip's
"Write I2C Address Bits" command from the raw REPL, with the chip picked by its LDAC pin
(bench `[dac] ldac_gpio` + k), then checks the chip answers at its new address with those
address bits. It refuses before writing anything when the new address already answers
(two chips would collide) or nothing answers at the old one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.handshake import await_hello, leave_firmware
from wphil.drivers.hardware import hardware
from wphil.drivers.repl import BoardRepl
from wphil.lab.flash import HANDSHAKE_TIMEOUT_S, open_serial, resolve_port

log = logging.getLogger(__name__)

BASE_ADDRESS = 0x60
ADDRESSES = range(BASE_ADDRESS, BASE_ADDRESS + 8)
ENTER_ATTEMPTS = 3

_PROGRAM = """\
import dac_address
print(repr(dac_address.program(%(bus)d, %(sda)d, %(scl)d, %(hz)d, %(old)d, %(new)d, %(ldac)d)))
"""


@dataclass
class AddressResult:
    chip: int
    old: int
    new: int
    ldac_gpio: int
    found: list[int]                  # the I2C scan after programming
    hello: dict[str, Any]             # the firmware's handshake after the reset


def check_request(bench: Bench, chip: int, new: int, old: int) -> None:
    if not 0 <= chip < bench.dac.chips:
        raise ConfigError(f"--chip {chip}: the bench has MCP4728 chips 0..{bench.dac.chips - 1}")
    for name, value in (("--to", new), ("--from", old)):
        if value not in ADDRESSES:
            raise ConfigError(f"{name} 0x{value:02x}: MCP4728 addresses are 0x60..0x67")
    if new == old:
        raise ConfigError(f"--to 0x{new:02x} is the chip's address already")


def program_address(port: str, bench: Bench, chip: int, new: int,
                    old: int = BASE_ADDRESS) -> AddressResult:
    """Move bench chip `chip` from `old` to `new`; the firmware is restarted afterwards."""
    check_request(bench, chip, new, old)
    name = resolve_port(port)
    ldac = hardware(bench).ldac_gpio(chip)
    with _raw_repl(name) as repl:
        try:
            found = repl.evaluate(program_source(bench, chip, new, old),
                f"programming MCP4728 #{chip} (LDAC on GP{ldac}) from 0x{old:02x} to 0x{new:02x}")
        finally:
            with contextlib.suppress(DeviceError):     # the firmware serves again either way
                repl.soft_reset()
    with open_serial(name) as serial_port:
        hello = await_hello(serial_port, HANDSHAKE_TIMEOUT_S)
    if new not in hello.get("dac_addresses", []):
        raise DeviceError(f"{name}: after the reset the firmware sees MCP4728s at "
                          f"{_hex(hello.get('dac_addresses', []))}, not 0x{new:02x}")
    log.info("MCP4728 #%d: 0x%02x -> 0x%02x; chips at %s", chip, old, new, _hex(found))
    return AddressResult(chip, old, new, ldac, found, hello)


def program_source(bench: Bench, chip: int, new: int, old: int = BASE_ADDRESS) -> str:
    """The MicroPython `wphil dac-address` runs on the board; the pins from the bench's
    hardware description."""
    hw = hardware(bench)
    return _PROGRAM % {"bus": bench.dac.i2c_id, "sda": hw.signal("SDA").gpio,
                       "scl": hw.signal("SCL").gpio, "hz": bench.dac.i2c_hz, "old": old,
                       "new": new, "ldac": hw.ldac_gpio(chip)}


@contextlib.contextmanager
def _raw_repl(name: str, attempts: int = ENTER_ATTEMPTS) -> Iterator[BoardRepl]:
    """Stop the firmware and enter the raw REPL. A firmware slowed down (an emulated Pico
    on a busy machine) may answer HELLO after the probes gave up and keep serving: then the
    REPL does not come, and stopping it is tried again."""
    for attempt in range(1, attempts + 1):
        with open_serial(name) as serial_port:
            leave_firmware(serial_port)
        repl = BoardRepl(name)
        try:
            repl.enter()
        except DeviceError:
            repl.close()
            if attempt == attempts:
                raise
            log.info("%s: no raw REPL yet (attempt %d); stopping the firmware again", name, attempt)
            continue
        try:
            yield repl
        finally:
            repl.close()
        return


def _hex(addresses: list[int]) -> str:
    return ", ".join(f"0x{a:02x}" for a in addresses) or "none"
