# MCP4728 I2C address programming: "Write I2C Address Bits" (DS22187E, 5.4.4), run from the
# raw REPL by `wphil dac-address`, never by the server.
#
# Every chip answers its current address, and chips ship at 0x60, so the command names the
# chip by its LDAC pin instead: only the chip whose LDAC falls during the 8th clock of the
# second byte (and stays low through the third) takes the new address. That edge must fall
# inside one SCL pulse, which the RP2040's I2C block cannot be told to wait for, so the
# transfer is bit-banged on the same SDA/SCL pins (open drain, the bus pull-ups).
#
# Wiring: each chip's LDAC to its own GPIO (chip k on GP(6 + k) by default) with 10 kOhm
# to GND, so LDAC is low (outputs follow writes) whenever the GPIO is an input.
import time

import machine
from micropython import const

_BASE = const(0x60)
_EEPROM_MS = const(60)      # EEPROM write: 25 ms typical, 50 ms max


class _Bus:
    def __init__(self, sda, scl):
        self.sda = machine.Pin(sda, machine.Pin.OPEN_DRAIN, value=1)
        self.scl = machine.Pin(scl, machine.Pin.OPEN_DRAIN, value=1)

    def _clock(self, ldac=None):
        self.scl.value(1)
        if ldac is not None:            # between this SCL rise and fall: the 8th clock
            ldac.value(0)
        self.scl.value(0)

    def start(self):
        self.sda.value(1)
        self.scl.value(1)
        self.sda.value(0)
        self.scl.value(0)

    def stop(self):
        self.sda.value(0)
        self.scl.value(1)
        self.sda.value(1)

    def write(self, byte, ldac=None):
        """Send a byte MSB first; LDAC (if given) falls during its 8th clock. True on ACK."""
        for i in range(7, -1, -1):
            self.sda.value((byte >> i) & 1)
            self._clock(ldac if i == 0 else None)
        self.sda.value(1)
        self.scl.value(1)
        ack = self.sda.value() == 0
        self.scl.value(0)
        return ack


def address_bits(i2c, address):
    """A2..A0 as the chip at `address` reports them in its read-back (byte 0 of 24)."""
    buf = bytearray(24)
    i2c.readfrom_into(address, buf)
    return buf[0] & 7


def program(bus_id, sda, scl, freq, old, new, ldac_pin):
    """Move the chip on LDAC pin `ldac_pin` from `old` to `new`; return the I2C scan after."""
    if not (_BASE <= old < _BASE + 8 and _BASE <= new < _BASE + 8):
        raise ValueError("MCP4728 addresses are 0x60..0x67")
    i2c = machine.I2C(bus_id, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=freq)
    found = i2c.scan()
    if old not in found:
        raise OSError("no MCP4728 answers at 0x%02x" % old)
    if new in found:
        raise OSError("0x%02x is taken by another chip: the two would collide" % new)
    ldac = machine.Pin(ldac_pin, machine.Pin.OUT, value=1)
    bus = _Bus(sda, scl)
    try:
        bus.start()
        acks = [bus.write(old << 1),
                bus.write(0x61 | (old - _BASE) << 2, ldac),
                bus.write(0x62 | (new - _BASE) << 2),
                bus.write(0x63 | (new - _BASE) << 2)]
        bus.stop()
    finally:
        ldac.init(machine.Pin.IN)       # released: the pull-down holds LDAC low
    time.sleep_ms(_EEPROM_MS)
    i2c = machine.I2C(bus_id, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=freq)
    found = i2c.scan()
    if not all(acks):
        raise OSError("the chip at 0x%02x did not acknowledge the address command" % old)
    if new not in found or address_bits(i2c, new) != new - _BASE:
        raise OSError("no chip answers at 0x%02x after programming: check LDAC on GP%d"
                      % (new, ldac_pin))
    return found
