"""`wphil dac-address`: give one MCP4728 on the bench its own I2C address, or check them all.

MCP4728s ship at 0x60; a bench with several needs them at 0x60, 0x61, ... (chip k at
0x60 + k, as the firmware expects). The firmware's dac_address module sends the chip's
"Write I2C Address Bits" command (DS22187E Fig. 5-11) from the raw REPL, with the chip picked
by its LDAC pin (bench `[dac] ldac_gpio` + k), waits for RDY/BSY, then reads the chip's
address bits back with "General Call Read Address Bits" (Fig. 5-6). It refuses before
writing anything when the new address already answers (two chips would collide) or nothing
answers at the old one.

`verify_addresses` is the bring-up step: every chip, picked by its LDAC wire, reports the
address bits 0x60 + k wants, in its EEPROM and in its register. A chip that does not answer
its LDAC has a broken LDAC wire (or none); one with other bits was given another address.
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
from wphil.lab.checks import Check
from wphil.lab.flash import HANDSHAKE_TIMEOUT_S, open_serial, resolve_port

log = logging.getLogger(__name__)

BASE_ADDRESS = 0x60
ADDRESSES = range(BASE_ADDRESS, BASE_ADDRESS + 8)
ENTER_ATTEMPTS = 3

_PROGRAM = """\
import dac_address
print(repr(dac_address.program(%(bus)d, %(sda)d, %(scl)d, %(hz)d, %(old)d, %(new)d, %(ldac)d)))
"""
_VERIFY = """\
import dac_address
print(repr(dac_address.verify(%(sda)d, %(scl)d, %(ldac)r)))
"""


@dataclass
class AddressResult:
    chip: int
    old: int
    new: int
    ldac_gpio: int
    found: list[int]                  # the I2C scan after programming
    hello: dict[str, Any]             # the firmware's handshake after the reset
    busy_ms: int = 0                  # how long RDY/BSY stayed low (the EEPROM write)


@dataclass(frozen=True)
class ChipAddress:
    """What chip `chip` (LDAC on GP`ldac_gpio`) reports of its address bits."""

    chip: int
    ldac_gpio: int
    want: int                         # 0x60 + chip
    eeprom: int | None                # A2:A0 in its EEPROM (None: no answer on this LDAC)
    register: int | None              # A2:A0 it answers with now

    @property
    def ok(self) -> bool:
        return self.eeprom == self.register == self.want - BASE_ADDRESS

    def describe(self) -> str:
        head = f"MCP4728 #{self.chip} (LDAC GP{self.ldac_gpio})"
        if self.eeprom is None:
            return f"{head}: no answer to its LDAC (check the LDAC wire and the chip's power)"
        at = f"0x{BASE_ADDRESS + self.register:02x}"
        if self.ok:
            return f"{head}: at {at}, address bits {self.register} in EEPROM and register"
        return (f"{head}: at {at} (EEPROM bits {self.eeprom}, register bits {self.register}), "
                f"wants 0x{self.want:02x}: run wphil dac-address --chip {self.chip} "
                f"--from {at} --to 0x{self.want:02x}")


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
            done = repl.evaluate(program_source(bench, chip, new, old),
                f"programming MCP4728 #{chip} (LDAC on GP{ldac}) from 0x{old:02x} to 0x{new:02x}")
        finally:
            with contextlib.suppress(DeviceError):     # the firmware serves again either way
                repl.soft_reset()
    with open_serial(name) as serial_port:
        hello = await_hello(serial_port, HANDSHAKE_TIMEOUT_S)
    if new not in hello.get("dac_addresses", []):
        raise DeviceError(f"{name}: after the reset the firmware sees MCP4728s at "
                          f"{_hex(hello.get('dac_addresses', []))}, not 0x{new:02x}")
    found = done["found"]
    log.info("MCP4728 #%d: 0x%02x -> 0x%02x (EEPROM busy %d ms); chips at %s", chip, old, new,
             done["busy_ms"], _hex(found))
    return AddressResult(chip, old, new, ldac, found, hello, done["busy_ms"])


def verify_addresses(port: str, bench: Bench) -> list[ChipAddress]:
    """Read every bench chip's address bits by its LDAC pin (General Call Read Address Bits,
    DS22187E Fig. 5-6); the firmware is restarted afterwards."""
    name = resolve_port(port)
    hw = hardware(bench)
    pins = [hw.ldac_gpio(k) for k in range(bench.dac.chips)]
    with _raw_repl(name) as repl:
        try:
            bits = repl.evaluate(_VERIFY % {"sda": hw.signal("SDA").gpio,
                                            "scl": hw.signal("SCL").gpio, "ldac": pins},
                                 f"reading the MCP4728 address bits (LDAC on GP{pins[0]}..)")
        finally:
            with contextlib.suppress(DeviceError):
                repl.soft_reset()
    with open_serial(name) as serial_port:
        await_hello(serial_port, HANDSHAKE_TIMEOUT_S)
    return [ChipAddress(k, pin, BASE_ADDRESS + k, *(b if b is not None else (None, None)))
            for k, (pin, b) in enumerate(zip(pins, bits))]


def address_bits_check(chips: list[ChipAddress]) -> Check:
    """`verify_addresses` as one bring-up check line (the form `wphil check` prints)."""
    bad = [c for c in chips if not c.ok]
    if not bad:
        return Check("DAC address bits", True, ", ".join(
            f"#{c.chip} 0x{c.want:02x}" for c in chips) + " (by LDAC; EEPROM = register)")
    return Check("DAC address bits", False, "; ".join(c.describe() for c in bad))


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
