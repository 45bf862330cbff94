"""Keysight (Agilent) 34461A-class digital multimeter: DC volts, range, NPLC, error queue.

Also fits the 34460A, 34465A and 34470A, which share the Truevolt SCPI set. Reached over
USB-TMC (`USB0::0x2A8D::0x1301::SERIAL::INSTR`), LAN VXI-11 (`TCPIP0::HOST::INSTR`) or the
raw SCPI socket on port 5025 (`TCPIP0::HOST::5025::SOCKET`).

`MEAS:VOLT:DC?` is the one-shot measurement: it reconfigures the meter (autorange, default
resolution) every time. For a calibration sweep use `configure_voltage_dc` once and
`read()` per point: a fixed range means no range change (each range has its own offset
and gain error) lands in the middle of a fit, and a fixed NPLC fixes the noise.
"""

from __future__ import annotations

from wphil.drivers.errors import InstrumentError
from wphil.drivers.instruments.scpi import Instrument

#: DC voltage ranges (V); each reads up to 120 % of its nominal value.
VOLTAGE_RANGES = (0.1, 1.0, 10.0, 100.0, 1000.0)
OVERRANGE = 1.2
#: Integration times of the 34461A in power-line cycles (the 34465A/70A add faster ones).
NPLCS = (0.02, 0.2, 1.0, 10.0, 100.0)
#: The reading an overloaded input returns ("9.9E+37", shown as OVLD on the front panel).
OVERLOAD = 9.9e37


def _not_overloaded(dmm: Keysight34461A, volts: float) -> float:
    if abs(volts) >= OVERLOAD:
        raise InstrumentError(f"{dmm.label}: input overload (outside the range)")
    return volts


def range_for(volts: float) -> float:
    """The smallest DC range that reads `volts` (up to 120 % of the range)."""
    for rng in VOLTAGE_RANGES:
        if abs(volts) <= rng * OVERRANGE:
            return rng
    raise InstrumentError(f"{volts} V is beyond the largest DC range "
                          f"({VOLTAGE_RANGES[-1] * OVERRANGE:g} V)")


class Keysight34461A(Instrument):
    """A 6½-digit bench DMM of the Keysight 34461A class."""

    MODELS = ("34460A", "34461A", "34465A", "34470A")
    KIND = "DMM"
    #: the longest reading (100 NPLC at 50 Hz is 2 s) plus margin
    TIMEOUT_MS = 5000

    voltage_dc = Instrument.measurement(
        "MEAS:VOLT:DC?", "One DC voltage reading, autoranged, default resolution", "V",
        process=_not_overloaded)
    voltage_range = Instrument.control(
        "VOLT:DC:RANG?", "VOLT:DC:RANG %g", "DC voltage range (setting it ends autorange)", "V",
        values=VOLTAGE_RANGES)
    autorange = Instrument.control(
        "VOLT:DC:RANG:AUTO?", "VOLT:DC:RANG:AUTO %s", "DC voltage autorange",
        map_values={True: "1", False: "0"})
    nplc = Instrument.control(
        "VOLT:DC:NPLC?", "VOLT:DC:NPLC %g", "DC voltage integration time", "PLC",
        values=NPLCS)

    def configure_voltage_dc(self, voltage_range: float, nplc: float = 10.0) -> None:
        """Set up DC volts on a fixed range and integration time for repeated `read()`s."""
        type(self).voltage_range.validate(self, voltage_range)
        type(self).nplc.validate(self, nplc)
        self.write(f"CONF:VOLT:DC {voltage_range:g}")
        self.nplc = nplc

    def read(self) -> float:
        """Trigger one reading with the present configuration (V)."""
        return _not_overloaded(self, self.values("READ?"))

    def reset(self) -> None:
        """*RST then *CLS: power-on settings, empty error queue."""
        self.write("*RST")
        self.clear()
