"""The ADS1115's single-shot conversion timing at pin level (TI SBAS444E).

- Pointer register (2 bits) selects Conversion (00) or Config (01); a write sets the pointer,
  further bytes write the selected register MSB first; a read returns the pointed register.
- Writing Config with OS = 1 in single-shot mode (MODE = 1) starts one conversion, from the
  Stop of that write (SBAS444E Config register, bit 15). Reading Config while it converts gives
  OS = 0 ("currently performing a conversion"), 1 after.
- A conversion lasts `startup_s` + 1/DR x (1 + `rate_error`): one data period after the
  power-up from the power-down state ("a conversion at 860SPS only requires approximately
  1.2ms", SBAS444E duty-cycling example). The start-up (about 25 us) and the data-rate
  tolerance (10 %) are in HARDWARE-FACTS' "Unverified" list: the defaults take them as the
  worst case a driver must survive, not as datasheet figures.
Reading the Conversion register before the conversion ends returns the previous result and
is recorded in `violations`: the reading would be stale.
"""

from __future__ import annotations

from wphil.drivers.chipmodels.i2c import Target

DATA_RATES = (8, 16, 32, 64, 128, 250, 475, 860)     # DR[2:0] = 0..7, SPS
STARTUP_S = 25e-6
RATE_ERROR = 0.10


class Ads1115(Target):
    """One ADS1115; `inputs[ch]` is the code a conversion of AINch vs GND gives."""

    def __init__(self, address: int = 0x48, startup_s: float = STARTUP_S,
                 rate_error: float = RATE_ERROR) -> None:
        self.address, self.startup_s, self.rate_error = address, startup_s, rate_error
        self.inputs = [0, 0, 0, 0]
        self.config = 0x8583                  # reset value (SBAS444E Config register)
        self.conversion = 0
        self.pointer = 0
        self.done_at = -1.0
        self.next_result = 0
        self.violations: list[str] = []
        self.conversions = 0
        self._bytes: list[int] = []
        self._mine = False
        self._out: list[int] = []

    def conversion_s(self) -> float:
        rate = DATA_RATES[(self.config >> 5) & 7]
        return self.startup_s + (1 + self.rate_error) / rate

    def converting(self) -> bool:
        if self.done_at >= 0 and self.bus.clock.now >= self.done_at:
            self.conversion, self.done_at = self.next_result, -1.0
        return self.done_at >= 0

    def start(self, repeated: bool) -> None:
        self._finish_write()
        self._bytes, self._mine = [], False

    def stop(self) -> None:
        self._finish_write()
        self._bytes, self._mine = [], False

    def received(self, index: int, value: int, address: bool) -> bool:
        if address:
            self._mine = value >> 1 == self.address
            if self._mine and value & 1:
                self._out = self._register_bytes()
            return self._mine
        if self._mine:
            self._bytes.append(value)
        return self._mine

    def next_read_byte(self) -> int:
        return self._out.pop(0) if self._out else 0xFF

    def _register_bytes(self) -> list[int]:
        busy = self.converting()
        if self.pointer == 1:
            value = self.config & 0x7FFF | (0 if busy else 0x8000)
        else:
            if busy:
                self.violations.append(
                    f"Conversion register read {(self.done_at - self.bus.clock.now) * 1e6:.0f}"
                    " us before the conversion ended (poll OS, SBAS444E Config bit 15)")
            value = self.conversion
        return [value >> 8, value & 0xFF]

    def _finish_write(self) -> None:
        b, self._bytes = self._bytes, []
        if not b:
            return
        self.pointer = b[0] & 3
        if self.pointer == 1 and len(b) >= 3:
            self.config = b[1] << 8 | b[2]
            single = self.config & 0x0100
            if self.config & 0x8000 and single and not self.converting():
                mux = (self.config >> 12) & 7
                self.next_result = self.inputs[mux - 4] if mux >= 4 else 0
                self.done_at = self.bus.clock.now + self.conversion_s()
                self.conversions += 1
