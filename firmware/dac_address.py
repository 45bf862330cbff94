# MCP4728 I2C address bits (Microchip DS22187E): give one chip its address with "Write I2C
# Address Bits" (sec. 5.3.1, Figure 5-11, C2:C0 = 011) and read a chip's address bits with
# "General Call Read Address Bits" (sec. 5.4.4, Figure 5-6). Run from the raw REPL by
# `wphil dac-address`, never by the server.
#
# Both commands pick the chip by its LDAC pin, not by its address (chips ship at 0x60 and
# may share it). Notes 2a-2c of both figures, to the letter:
#   2a  LDAC stays high until the end of the high phase of the 8th clock of the 2nd byte;
#   2b  LDAC goes high -> low during that clock's low phase (after SCL falls, before the
#       9th (ACK) clock rises) and stays low until the 9th clock of the 3rd byte rises;
#   2c  a chip that did not see (a) and (b) does not acknowledge the 3rd byte.
# The edge must land inside one SCL low phase, which the RP2040's I2C block cannot be told to
# wait for, so these transfers are bit-banged on the same SDA/SCL pins (open drain, the bus
# pull-ups). The clock stays under the 400 kHz sec. 5.4.4 allows: every SCL phase lasts at
# least _HALF_US.
#
# Wiring: chip k's LDAC on its own GPIO (bench [dac] ldac_gpio + k) through a series
# resistor, 10 kOhm to GND at the chip: LDAC is low (outputs follow writes) whenever the GPIO
# is an input. LDAC is driven only here, and released after the Stop (note 3).
import time

import machine
from micropython import const

_BASE = const(0x60)
_GENERAL_CALL = const(0x00)
_READ_ADDRESS = const(0x0C)     # Fig. 5-6, 2nd byte
_HALF_US = const(5)             # >= one SCL phase: a 100 kHz clock at most
_POLL_MS = const(2)
# EEPROM write: 25 ms typ, 50 ms max (DS22187E p. 6, Electrical Characteristics, "EEPROM
# Write Time"). RDY/BSY is low from the falling edge of the 4th byte's ACK until the write
# completes (Fig. 5-11 note 4); the read-back shows it as bit 7 of every register byte
# (Fig. 5-15).
_BUSY_LIMIT_MS = const(100)     # twice the maximum: a chip still busy then is broken


class _Bus:
    """An I2C controller bit-banged on two open-drain pins."""

    def __init__(self, sda, scl):
        self.sda = machine.Pin(sda, machine.Pin.OPEN_DRAIN, value=1)
        self.scl = machine.Pin(scl, machine.Pin.OPEN_DRAIN, value=1)

    def _high(self):
        time.sleep_us(_HALF_US)
        self.scl.value(1)
        time.sleep_us(_HALF_US)

    def _clock(self):
        self._high()
        self.scl.value(0)

    def start(self):
        """Start, or a repeated start when a transfer is under way (SCL low)."""
        self.sda.value(1)
        self._high()
        self.sda.value(0)
        time.sleep_us(_HALF_US)
        self.scl.value(0)

    def stop(self):
        self.sda.value(0)
        self._high()
        self.sda.value(1)
        time.sleep_us(_HALF_US)

    def write(self, byte, ldac=None):
        """Send a byte MSB first, then clock its ACK: True when a chip pulled SDA low. With
        `ldac`, LDAC falls after the 8th clock's high phase and before the 9th clock rises
        (note 2b), never while SCL is high (note 2a)."""
        for i in range(7, -1, -1):
            self.sda.value((byte >> i) & 1)
            self._clock()
        if ldac is not None:
            time.sleep_us(_HALF_US)
            ldac.value(0)               # SCL low: the 8th clock's negative pulse
        self.sda.value(1)               # release SDA for the chip's ACK
        self._high()
        ack = self.sda.value() == 0
        self.scl.value(0)
        return ack

    def read(self, ack):
        """Clock in one byte from the chip, then ACK it (more to come) or not (the last)."""
        self.sda.value(1)
        byte = 0
        for _ in range(8):
            self._high()
            byte = (byte << 1) | self.sda.value()
            self.scl.value(0)
        self.sda.value(0 if ack else 1)
        self._clock()
        self.sda.value(1)
        return byte


def _i2c(bus_id, sda, scl, freq):
    return machine.I2C(bus_id, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=freq)


def _selected(ldac_pin, transfer):
    """Run `transfer(bus, ldac)` with this chip's LDAC high from before the Start (note 2a),
    then release LDAC after the Stop (note 3): the pull-down holds it low."""
    ldac = machine.Pin(ldac_pin, machine.Pin.OUT, value=1)
    try:
        return transfer(ldac)
    finally:
        ldac.init(machine.Pin.IN)


def write_address(sda, scl, ldac_pin, old, new):
    """Figure 5-11: the four bytes, LDAC falling in the 8th clock of byte 2. Returns the
    four ACKs; byte 3 is acknowledged only by the chip whose LDAC followed notes 2a/2b."""
    bus = _Bus(sda, scl)

    def transfer(ldac):
        bus.start()
        acks = [bus.write(old << 1), bus.write(0x61 | (old - _BASE) << 2, ldac)]
        acks.append(bus.write(0x62 | (new - _BASE) << 2))
        if acks[2]:                 # refused (note 2c): nothing more for this chip
            acks.append(bus.write(0x63 | (new - _BASE) << 2))
        bus.stop()
        return acks

    return _selected(ldac_pin, transfer)


def read_address(sda, scl, ldac_pin):
    """Figure 5-6: (EEPROM, register) address bits of the chip on `ldac_pin`, or None when
    no chip acknowledged the 3rd byte (no chip there, or its LDAC not on that GPIO)."""
    bus = _Bus(sda, scl)

    def transfer(ldac):
        bus.start()
        bus.write(_GENERAL_CALL)
        bus.write(_READ_ADDRESS, ldac)
        bus.start()                                 # repeated start, LDAC still low
        found = bus.write((_BASE << 1) | 1)         # 1100 xxx 1: the 3rd byte
        bits = bus.read(False) if found else None
        bus.stop()
        return bits

    bits = _selected(ldac_pin, transfer)
    if bits is None or (bits & 0x11) != 0x10:       # A2A1A0 1 A2A1A0 0
        return None
    return (bits >> 5) & 7, (bits >> 1) & 7


def wait_ready(i2c, address):
    """Poll RDY/BSY (bit 7 of the read-back's first byte, Fig. 5-15) until the EEPROM write
    is done; a chip that does not answer yet counts as busy. Returns the ms waited."""
    buf = bytearray(1)
    start = time.ticks_ms()
    while True:
        waited = time.ticks_diff(time.ticks_ms(), start)
        try:
            i2c.readfrom_into(address, buf)
            if buf[0] & 0x80:
                return waited
        except OSError:
            pass
        if waited > _BUSY_LIMIT_MS:
            raise OSError("MCP4728 at 0x%02x still busy (RDY/BSY low) after %d ms"
                          % (address, waited))
        time.sleep_ms(_POLL_MS)


def program(bus_id, sda, scl, freq, old, new, ldac_pin):
    """Move the chip on LDAC pin `ldac_pin` from `old` to `new`. Returns the I2C scan after
    and how long RDY/BSY stayed low (ms)."""
    if not (_BASE <= old < _BASE + 8 and _BASE <= new < _BASE + 8):
        raise ValueError("MCP4728 addresses are 0x60..0x67")
    found = _i2c(bus_id, sda, scl, freq).scan()
    if old not in found:
        raise OSError("no MCP4728 answers at 0x%02x" % old)
    if new in found:
        raise OSError("0x%02x is taken by another chip: the two would collide" % new)
    acks = write_address(sda, scl, ldac_pin, old, new)
    i2c = _i2c(bus_id, sda, scl, freq)
    if not (acks[0] and acks[1]):
        raise OSError("no MCP4728 at 0x%02x took the address command" % old)
    if len(acks) < 4:
        raise OSError("no chip acknowledged the new address (3rd byte): no MCP4728 has "
                      "its LDAC on GP%d (DS22187E Fig. 5-11 note 2c)" % ldac_pin)
    if not acks[3]:
        raise OSError("the chip on GP%d did not acknowledge the confirmation byte" % ldac_pin)
    busy_ms = wait_ready(i2c, new)
    bits = read_address(sda, scl, ldac_pin)
    if bits != (new - _BASE, new - _BASE):
        raise OSError("the chip on GP%d reports address bits %r after programming, not %d"
                      % (ldac_pin, bits, new - _BASE))
    return {"found": _i2c(bus_id, sda, scl, freq).scan(), "busy_ms": busy_ms}


def verify(sda, scl, ldac_pins):
    """Each chip's (EEPROM, register) address bits by its LDAC pin, None where none answers."""
    return [read_address(sda, scl, pin) for pin in ldac_pins]
