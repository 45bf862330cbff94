"""Pins, time and a fake `machine` module, so firmware modules run under CPython against the
pin-level chip models of this package.

Every level change of every pin the firmware touches lands, in order and time-stamped, on a
`Net`; the chip models listen to the nets (an I2C bus is two open-drain nets, an LDAC line a
net with a pull-down). Time is virtual: it advances only when the firmware sleeps (or a pin
call costs `pin_call_s`), so the models can check the firmware's own waits.

    board = Board()
    i2c_bus = board.i2c_bus(sda=4, scl=5)           # an I2cBus (chipmodels.i2c)
    module = board.load_firmware("dac_address")     # firmware/dac_address.py, faked machine
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from wphil.drivers.chipmodels.i2c import I2cBus, SoftI2C
from wphil.drivers.chipmodels.nets import Clock, Net
from wphil.firmware import firmware_dir


class _Time:
    """The parts of MicroPython's `time` the firmware uses, on the virtual clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def sleep_us(self, us: float) -> None:
        self.clock.advance(us * 1e-6)

    def sleep_ms(self, ms: float) -> None:
        self.clock.advance(ms * 1e-3)

    def ticks_us(self) -> int:
        return int(self.clock.now * 1e6)

    def ticks_ms(self) -> int:
        return int(self.clock.now * 1e3)

    @staticmethod
    def ticks_diff(a: int, b: int) -> int:
        return a - b

    @staticmethod
    def ticks_add(a: int, b: int) -> int:
        return a + b


class Board:
    """The Pico's GPIOs as nets, and a `machine` module whose pins drive them."""

    def __init__(self, pin_call_s: float = 0.0, trace: bool = False) -> None:
        self.clock = Clock()
        # (seconds, GPIO, "H" driven high / "L" driven low / "Z" released), in call order:
        # the firmware's pin calls, to replay against another model of the same chips
        self.trace: list[tuple[float, int, str]] | None = [] if trace else None
        self.time = _Time(self.clock)
        self.pin_call_s = pin_call_s
        self.nets: dict[int, Net] = {}
        self.gpio: dict[int, list[int]] = {}       # GPIO -> [mode, output level]
        self.machine = _machine_module(self)

    def net(self, gpio: int, pull: bool = False) -> Net:
        """GPIO `gpio`'s net (created with a pull-down, or `pull`, on first use)."""
        if gpio not in self.nets:
            self.nets[gpio] = Net(f"GP{gpio}", pull)
        return self.nets[gpio]

    def i2c_bus(self, sda: int, scl: int) -> I2cBus:
        return I2cBus(self.net(sda, True), self.net(scl, True), self.clock)

    def load_firmware(self, name: str, stubs: dict[str, object] | None = None) -> types.ModuleType:
        """Import firmware/`name`.py as a fresh module that sees this board's `machine` and
        `time` (and `stubs`, other modules it imports, by name)."""
        path = Path(firmware_dir()) / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_chipmodels_fw_{name}", path)
        module = importlib.util.module_from_spec(spec)
        fakes = {"machine": self.machine, "micropython": _micropython_module(),
                 **(stubs or {})}
        saved = {k: sys.modules.get(k) for k in fakes}
        sys.modules.update(fakes)
        try:
            spec.loader.exec_module(module)
        finally:
            for key, old in saved.items():
                if old is None:
                    sys.modules.pop(key, None)
                else:
                    sys.modules[key] = old
        module.time = self.time
        return module


def _micropython_module() -> types.ModuleType:
    module = types.ModuleType("micropython")
    module.const = lambda value: value
    return module


def _machine_module(board: Board) -> types.ModuleType:
    class Pin:
        IN, OUT, OPEN_DRAIN = 0, 1, 2
        PULL_UP, PULL_DOWN = 1, 2

        def __init__(self, gpio: int, mode: int = -1, pull: int | None = None,
                     value: int | None = None) -> None:
            # a GPIO has one state whatever Pin objects name it: Pin(n) alone changes nothing
            self.gpio, self.net = gpio, board.net(gpio)
            board.gpio.setdefault(gpio, [self.IN, 1])
            self.init(mode, value=value)

        def init(self, mode: int = -1, pull: int | None = None, value: int | None = None) -> None:
            state = board.gpio[self.gpio]
            if value is not None:
                state[1] = 1 if value else 0
            if mode != -1:
                state[0] = mode
            self._drive()

        def _drive(self) -> None:
            mode, out = board.gpio[self.gpio]
            level = bool(out) if mode == self.OUT else (
                False if mode == self.OPEN_DRAIN and not out else None)
            if board.trace is not None:
                board.trace.append((board.clock.now, self.gpio,
                                    "Z" if level is None else "H" if level else "L"))
            self.net.drive("pico", level)
            board.clock.advance(board.pin_call_s)

        def value(self, level: int | None = None) -> int | None:
            if level is None:
                return 1 if self.net.level else 0
            board.gpio[self.gpio][1] = 1 if level else 0
            self._drive()
            return None

        __call__ = value

    def i2c(bus_id: int, sda: Pin, scl: Pin, freq: int = 400_000) -> SoftI2C:
        return SoftI2C(Pin(sda.gpio, Pin.OPEN_DRAIN, value=1),
                       Pin(scl.gpio, Pin.OPEN_DRAIN, value=1), board.time, freq)

    module = types.ModuleType("machine")
    module.Pin, module.I2C = Pin, i2c
    return module
