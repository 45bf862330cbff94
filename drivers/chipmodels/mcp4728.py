"""The MCP4728's address commands and EEPROM timing at pin level (Microchip DS22187E).

Modelled from the datasheet alone:
- device address 1100 A2 A1 A0 (sec. 5.3), factory A2:A0 = 000;
- "Write I2C Address Bits" (Figure 5-11, C2:C0 = 011) and "General Call Read Address Bits"
  (sec. 5.4.4, Figure 5-6): the chip takes part only when its LDAC pin follows notes 2a/2b,
  checked edge by edge in `LdacWindow`, and does not acknowledge the 3rd byte otherwise
  (note 2c); an address it does not acknowledge is not programmed;
- the EEPROM write those start: RDY/BSY low from the falling edge of the 4th byte's ACK
  (Fig. 5-11 note 4) for `eeprom_write_s` (25 ms typ, 50 ms max: DS22187E p. 6, Electrical
  Characteristics, "EEPROM Write Time"; the model uses the maximum by default);
- the read command (Figure 5-15): per channel the DAC register then the EEPROM, 3 bytes
  each, RDY/BSY in bit 7 and POR in bit 6 of each first byte, A2:A0 in bits 2:0.
A write addressed to the chip while RDY/BSY is low is recorded in `violations` and ignored:
the datasheet gives no behaviour for it, so the model treats it as the firmware's bug.
Clocks faster than 400 kHz during the address commands (sec. 5.4.4) are violations too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from wphil.drivers.chipmodels.i2c import Position, Target
from wphil.drivers.chipmodels.nets import Net

log = logging.getLogger(__name__)

BASE_ADDRESS = 0x60                 # 1100 A2 A1 A0 (sec. 5.3)
GENERAL_CALL = 0x00
READ_ADDRESS_BITS = 0x0C            # Fig. 5-6, 2nd byte
EEPROM_WRITE_MAX_S = 50e-3          # DS22187E p. 6 "EEPROM Write Time" max; 25 typ
ADDRESS_COMMAND_MIN_PERIOD_S = 1 / 400e3     # sec. 5.4.4: 400 kHz at most


@dataclass
class LdacWindow:
    """Notes 2a/2b of Figures 5-11 and 5-6, for one transfer, against this chip's LDAC.
    (a) LDAC high from the Start until the 8th clock of the 2nd byte (index 1) has fallen;
    (b) LDAC falls in that clock's low phase, before the 9th clock rises, and stays low
    until the 9th clock of the 3rd byte (index 2) rises. `ok` is False with a `reason`
    as soon as either is broken."""

    ok: bool = True
    fell: bool = False
    closed: bool = False
    reason: str = ""

    def fail(self, why: str) -> None:
        if self.ok and not self.closed:
            self.ok, self.reason = False, why

    def ldac_changed(self, high: bool, pos: Position) -> None:
        if self.closed:
            return
        if not high:
            if (pos.index, pos.clock, pos.high) == (1, 8, False):
                self.fell = True
            else:
                self.fail(f"LDAC fell at {_where(pos)}, not in the low phase of the 8th clock "
                          "of byte 2 (note 2a/2b)")
        elif self.fell:
            self.fail(f"LDAC rose at {_where(pos)}, before the 9th clock of byte 3 (note 2b)")

    def clock_rose(self, pos: Position) -> None:
        if self.closed:
            return
        if (pos.index, pos.clock) == (1, 9) and not self.fell:
            self.fail("LDAC had not fallen when the 9th clock of byte 2 rose (note 2b)")
        if (pos.index, pos.clock) == (2, 9):
            self.closed = True


def _where(pos: Position) -> str:
    if pos.clock == 0:
        return f"byte {pos.index + 2} before its first clock"
    return (f"byte {pos.index + 1} clock {pos.clock} "
            f"({'SCL high' if pos.high else 'SCL low'})")


@dataclass
class _Transfer:
    bytes: list[int] = field(default_factory=list)
    mine: bool = False                   # addressed to this chip (or a general call)
    restarted: bool = False
    window: LdacWindow = field(default_factory=LdacWindow)
    selected: bool = False               # acknowledged the 3rd byte of an LDAC command


class Mcp4728(Target):
    """One MCP4728: its address bits (register and EEPROM copies), its LDAC net, its
    EEPROM timing; what it refused and why in `refusals`, firmware faults in `violations`."""

    def __init__(self, ldac: Net, address: int = BASE_ADDRESS,
                 eeprom_write_s: float = EEPROM_WRITE_MAX_S, name: str = "MCP4728") -> None:
        self.ldac, self.name = ldac, name
        self.register_bits = self.eeprom_bits = address - BASE_ADDRESS
        self.eeprom_write_s = eeprom_write_s
        self.busy_until = -1.0
        self.pending_bits: int | None = None
        self.codes = [0] * 4
        self.refusals: list[str] = []
        self.violations: list[str] = []
        self.eeprom_writes = 0
        self.t = _Transfer()
        self._read: list[int] = []
        ldac.listeners.append(self._ldac_changed)

    # -- state seen from outside ---------------------------------------------------------
    @property
    def address(self) -> int:
        return BASE_ADDRESS + self.register_bits

    @property
    def ready(self) -> bool:
        """RDY/BSY high: no EEPROM write in progress."""
        self._finish_write()
        return self.bus.clock.now >= self.busy_until

    def _finish_write(self) -> None:
        if self.pending_bits is not None and self.bus.clock.now >= self.busy_until:
            self.eeprom_bits, self.pending_bits = self.pending_bits, None

    # -- bus hooks -----------------------------------------------------------------------
    def start(self, repeated: bool) -> None:
        if repeated:
            self.t.restarted = True
            return
        self.t = _Transfer()
        if not self.ldac.level:
            self.t.window.fail("LDAC was low at the Start (note 2a)")

    def stop(self) -> None:
        self.t = _Transfer()

    def _ldac_changed(self, net: Net, high: bool) -> None:
        if self.bus.active:
            window = self.t.window
            window.ldac_changed(high, self.bus.position)
            if self.t.selected and not window.ok:     # LDAC rose during byte 3's ACK slot
                self.t.selected = False
                self.refusals.append(window.reason)
                self.bus.pull(self, False)            # its ACK of byte 3 withdrawn (note 2c)

    def edge(self, pos: Position) -> None:
        if pos.high:
            self.t.window.clock_rose(pos)
            period = self.bus.period_s
            if self._ldac_command() and period < ADDRESS_COMMAND_MIN_PERIOD_S * 0.999:
                self._violate(f"SCL period {period * 1e6:.2f} us: the address commands "
                              "allow 400 kHz at most (sec. 5.4.4)")

    def _ldac_command(self) -> bool:
        b = self.t.bytes
        return len(b) >= 2 and (b[0] == GENERAL_CALL << 1 and b[1] == READ_ADDRESS_BITS
                                or (b[1] & 0xE3) == 0x61)

    def received(self, index: int, value: int, address: bool) -> bool:
        self.t.bytes.append(value)
        if address and index == 0:
            return self._addressed(value)
        if not self.t.mine:
            return False
        if address:                              # after a repeated start
            return self._read_address_bits(value)
        return self._command_byte(index, value)

    def next_read_byte(self) -> int:
        return self._read.pop(0) if self._read else 0xFF

    # -- commands ------------------------------------------------------------------------
    def _addressed(self, value: int) -> bool:
        addr, read = value >> 1, value & 1
        if addr == GENERAL_CALL and not read:
            self.t.mine = True
        elif addr == self.address:
            self.t.mine = True
            if read:
                self._read = self._readback()
            elif not self.ready:
                self._violate("write command while the EEPROM write is in progress (RDY/BSY "
                              "low, Fig. 5-11 note 4)")
                self.t.mine = False
                return True                      # the datasheet is silent: ACK, ignore
        return self.t.mine

    def _command_byte(self, index: int, value: int) -> bool:
        b = self.t.bytes
        if b[0] == GENERAL_CALL << 1:
            return index == 1 and value in (0x06, 0x08, 0x09, READ_ADDRESS_BITS)  # sec. 5.4
        if (b[1] & 0xE3) != 0x61:
            return True                          # other commands: not modelled, acknowledged
        if index == 1:
            return True                          # Fig. 5-11: byte 2 acknowledged by every chip
        if index == 2:
            ok = ((b[1] >> 2) & 7) == self.register_bits and (value & 0xE3) == 0x62
            return self._select(ok, "byte 2 did not carry this chip's address bits")
        if index == 3 and self.t.selected:
            if (value & 0xE3) == 0x63 and (value >> 2) & 7 == (b[2] >> 2) & 7:
                self._program((value >> 2) & 7)
                return True
            self.refusals.append("confirmation byte does not repeat the new address bits")
        return False

    def _select(self, content_ok: bool, why: str) -> bool:
        """The 3rd byte of an LDAC command: acknowledged only under notes 2a/2b (2c)."""
        window = self.t.window
        if not window.fell:
            window.fail("LDAC had not fallen by the 3rd byte (note 2b)")
        if not window.ok:
            self.refusals.append(window.reason)
        elif not content_ok:
            self.refusals.append(why)
        self.t.selected = window.ok and content_ok
        if not self.t.selected:
            log.debug("%s: 3rd byte not acknowledged: %s", self.name, self.refusals[-1])
        return self.t.selected

    def _read_address_bits(self, value: int) -> bool:
        b = self.t.bytes
        if not (len(b) == 3 and self.t.restarted and b[0] == GENERAL_CALL << 1
                and b[1] == READ_ADDRESS_BITS and value >> 4 == 0x0C and value & 1):
            return False
        if not self._select(True, ""):
            return False
        self._read = [self.eeprom_bits << 5 | 0x10 | self.register_bits << 1]
        return True

    def _program(self, bits: int) -> None:
        # Fig. 5-11 note 4: the write starts at the falling edge of the 4th byte's ACK
        # clock; the register copy answers at once, the EEPROM holds it when RDY/BSY rises.
        self.register_bits, self.pending_bits = bits, bits
        self.busy_until = self.bus.clock.now + self.eeprom_write_s
        self.eeprom_writes += 1
        log.info("%s: address bits -> %d; EEPROM busy %.0f ms", self.name, bits,
                 self.eeprom_write_s * 1e3)

    def _readback(self) -> list[int]:
        status = (0x80 if self.ready else 0) | 0x40      # RDY/BSY, POR
        out = []
        for ch in range(4):
            first = status | ch << 4 | self.register_bits
            out += [first, self.codes[ch] >> 8, self.codes[ch] & 0xFF] * 2
        return out

    def _violate(self, what: str) -> None:
        if what not in self.violations:
            self.violations.append(what)
