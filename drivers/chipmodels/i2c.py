"""I2C at pin level: the bus decoded from SDA/SCL edges for the chip models on it, and the
controller the fake `machine.I2C` bit-bangs (so hardware-I2C transfers reach the models too).

The decoder follows the I2C-bus specification (NXP UM10204): SDA falling while SCL is high is
a (repeated) Start, SDA rising while SCL is high a Stop; a bit is sampled at SCL's rise; the
9th clock of each byte is the ACK, pulled low by the receiver. Targets see every SCL edge
with its position in the transfer (byte index counted across repeated starts, clock 1..9),
which is what timing rules such as the MCP4728's LDAC notes are written against.
"""

from __future__ import annotations

from dataclasses import dataclass

from wphil.drivers.chipmodels.nets import Clock, Net


@dataclass(frozen=True)
class Position:
    """Where a transfer is: byte `index` since the Start (0: the address byte), SCL clock
    `clock` (1..9, 0 before the byte's first clock) and whether SCL is high now."""

    index: int
    clock: int
    high: bool


class Target:
    """A chip on the bus. Hooks are called in bus order; `bus` is set by I2cBus.attach."""

    bus: I2cBus

    def start(self, repeated: bool) -> None: ...

    def stop(self) -> None: ...

    def edge(self, pos: Position) -> None:
        """Every SCL edge inside a transfer (pos.high: it rose)."""

    def received(self, index: int, value: int, address: bool) -> bool:
        """A byte was clocked in (SCL fell after its 8th bit): True to acknowledge it."""
        return False

    def next_read_byte(self) -> int:
        """The next byte to send after this target acknowledged a read address."""
        return 0xFF


class I2cBus:
    """SDA and SCL (open drain, pulled up) decoded into transfers for the attached targets."""

    def __init__(self, sda: Net, scl: Net, clock: Clock) -> None:
        self.sda, self.scl, self.clock = sda, scl, clock
        self.targets: list[Target] = []
        self.active = False
        self.index, self.clock_no, self.bits = -1, 0, 0
        self.address_next = False
        self.readers: list[tuple[Target, int]] = []     # (target, byte it is sending)
        self.reading = False
        self.acked: list[Target] = []
        self.last_rise: float | None = None
        self.period_s = float("inf")          # from the previous SCL rise to the latest
        sda.listeners.append(self._sda_changed)
        scl.listeners.append(self._scl_changed)

    def attach(self, target: Target) -> Target:
        target.bus = self
        self.targets.append(target)
        return target

    @property
    def position(self) -> Position:
        return Position(self.index, self.clock_no, self.scl.level)

    def pull(self, target: Target, low: bool) -> None:
        """A target pulls SDA low (ACK, a 0 bit) or lets it go."""
        self.sda.drive(target, False if low else None)

    # -- decoding ------------------------------------------------------------------------
    def _sda_changed(self, net: Net, level: bool) -> None:
        if not self.scl.level:
            return
        if not level:
            self._start()
        elif self.active:
            self._stop()

    def _start(self) -> None:
        repeated = self.active
        if repeated and self.clock_no == 1:       # the Sr's SCL rise was not a data clock
            self.index -= 1
        self.active, self.clock_no, self.bits = True, 0, 0
        self.address_next, self.reading = True, False
        self._release_all()
        for t in self.targets:
            t.start(repeated)

    def _stop(self) -> None:
        self.active = False
        self._release_all()
        for t in self.targets:
            t.stop()
        self.index, self.clock_no = -1, 0

    def _release_all(self) -> None:
        for t in self.targets:
            self.pull(t, False)
        self.readers, self.acked = [], []

    def _scl_changed(self, net: Net, level: bool) -> None:
        if not self.active:
            return
        if level:
            self._rise()
        else:
            self._fall()

    def _rise(self) -> None:
        now = self.clock.now
        self.period_s = now - self.last_rise if self.last_rise is not None else float("inf")
        self.last_rise = now
        self.clock_no += 1
        if self.clock_no == 1:
            self.index += 1
            self.bits = 0
        if self.clock_no <= 8:
            self.bits = (self.bits << 1) | (1 if self.sda.level else 0)
        pos = self.position
        for t in self.targets:
            t.edge(pos)

    def _fall(self) -> None:
        pos = self.position
        for t in self.targets:
            t.edge(pos)
        if self.clock_no == 8:
            self._byte_done()
        elif self.clock_no == 9:
            self._ack_done()
        elif self.reading and 1 <= self.clock_no < 8:
            self._send_bit(7 - self.clock_no)

    def _byte_done(self) -> None:
        if self.reading:
            self._release_all_readers()
            return
        address = self.address_next
        self.address_next = False
        self.acked = [t for t in self.targets if t.received(self.index, self.bits, address)]
        for t in self.acked:
            self.pull(t, True)
        self.reading = address and bool(self.bits & 1) and bool(self.acked)

    def _ack_done(self) -> None:
        master_ack = not self.sda.level if self.readers else False
        for t in self.targets:
            self.pull(t, False)
        self.clock_no = 0
        if self.reading and (self.acked or master_ack):
            sources = self.acked or [t for t, _ in self.readers]
            self.readers = [(t, t.next_read_byte()) for t in sources]
            self.acked = []
            self._send_bit(7)
        else:
            self.reading, self.readers, self.acked = False, [], []

    def _send_bit(self, bit: int) -> None:
        for t, byte in self.readers:
            self.pull(t, not (byte >> bit) & 1)

    def _release_all_readers(self) -> None:
        for t, _ in self.readers:
            self.pull(t, False)


class SoftI2C:
    """What the fake `machine.I2C` gives the firmware: MicroPython's I2C methods, bit-banged
    on the board's pins at `freq` (so the chip models see the transfer edge by edge)."""

    def __init__(self, sda, scl, time, freq: int) -> None:
        self.sda, self.scl, self.time = sda, scl, time
        self.half_us = 0.5e6 / freq

    def _high(self) -> None:
        self.time.sleep_us(self.half_us)
        self.scl.value(1)
        self.time.sleep_us(self.half_us)

    def _start(self) -> None:
        self.sda.value(1)
        self._high()
        self.sda.value(0)
        self.time.sleep_us(self.half_us)
        self.scl.value(0)

    def _stop(self) -> None:
        self.sda.value(0)
        self._high()
        self.sda.value(1)

    def _write(self, byte: int) -> bool:
        for i in range(7, -1, -1):
            self.sda.value((byte >> i) & 1)
            self._high()
            self.scl.value(0)
        self.sda.value(1)
        self._high()
        ack = self.sda.value() == 0
        self.scl.value(0)
        return ack

    def _read(self, ack: bool) -> int:
        self.sda.value(1)
        byte = 0
        for _ in range(8):
            self._high()
            byte = (byte << 1) | self.sda.value()
            self.scl.value(0)
        self.sda.value(0 if ack else 1)
        self._high()
        self.scl.value(0)
        self.sda.value(1)
        return byte

    def _address(self, addr: int, read: bool) -> None:
        if not self._write(addr << 1 | read):
            self._stop()
            raise OSError(5, "EIO")      # MicroPython's error for an unanswered address

    def scan(self) -> list[int]:
        found = []
        for addr in range(0x08, 0x78):
            self._start()
            if self._write(addr << 1):
                found.append(addr)
            self._stop()
        return found

    def writeto(self, addr: int, buf: bytes, stop: bool = True) -> int:
        self._start()
        self._address(addr, False)
        acks = sum(self._write(b) for b in buf)
        if stop:
            self._stop()
        return acks

    def readfrom_into(self, addr: int, buf: bytearray, stop: bool = True) -> None:
        self._start()
        self._address(addr, True)
        for i in range(len(buf)):
            buf[i] = self._read(i < len(buf) - 1)
        if stop:
            self._stop()

    def writeto_mem(self, addr: int, reg: int, buf: bytes) -> None:
        self.writeto(addr, bytes([reg]) + bytes(buf))

    def readfrom_mem_into(self, addr: int, reg: int, buf: bytearray) -> None:
        self.writeto(addr, bytes([reg]), stop=False)
        self.readfrom_into(addr, buf)
