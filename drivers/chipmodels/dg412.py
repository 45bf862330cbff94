"""The DG412 capacitor-reset switch at pin level, and how long the firmware must hold it.

A recurrent bench empties each integrator capacitor (Cint) by closing a DG412 switch across
it while the reset GPIO is high (DG412: positive logic, IN high = switch closed). After IN
rises the switch needs tON to close; then Cint discharges through the switch's on-resistance:

    v(t) = v0 * exp(-(t_hold - tON) / (RON * Cint))

so the hold that brings the worst starting voltage v0 (a full swing of the neuron around
VMID) below half an ADC LSB is

    t_hold >= tON + RON * Cint * ln(v0 / (LSB / 2)).

Figures (HARDWARE-FACTS §4):
- tON: 250 ns max, 175 ns typ (Maxim DG411/412/413 data sheet, "Electrical Characteristics
  - Single Supply" (V+ = 12 V, VL = 5 V), Turn-On Time; the Intersil summary gives < 175 ns);
- RON: 35 ohm max at +-15 V (Intersil FN3282 summary, [DGd], second-hand). The bench runs the
  DG412 at +-12 V, where RON is higher than at +-15 V and not tabulated in any source read, so
  RON_BOUND_OHMS doubles the +-15 V maximum.
This model checks the settle of the capacitor only; charge injection (5 pC typ, 10 pC max
into 1 nF [DGm]: 0.1 mV into 100 nF) is below half an LSB of the Pico's ADC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from wphil.drivers.chipmodels.nets import Clock, Net

T_ON_MAX_S = 250e-9
RON_MAX_15V_OHMS = 35.0
RON_BOUND_OHMS = 2 * RON_MAX_15V_OHMS


def min_reset_s(c_farads: float, v0: float, lsb: float, ron_ohms: float = RON_BOUND_OHMS,
                t_on_s: float = T_ON_MAX_S) -> float:
    """The shortest hold that leaves less than half an LSB on Cint (see the module doc)."""
    return t_on_s + ron_ohms * c_farads * math.log(max(1.0, v0 / (lsb / 2)))


@dataclass
class ResetSwitch:
    """One DG412 switch across a capacitor charged to `v0`, watching the reset GPIO's net.
    Each pulse on IN leaves a residual voltage, in `residuals`; `violations` names each
    pulse that left half an LSB or more."""

    net: Net
    clock: Clock
    c_farads: float
    v0: float
    lsb: float
    ron_ohms: float = RON_BOUND_OHMS
    t_on_s: float = T_ON_MAX_S
    residuals: list[float] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _closed_at: float | None = None

    def __post_init__(self) -> None:
        self.net.listeners.append(self._changed)

    def _changed(self, net: Net, high: bool) -> None:
        if high:
            self._closed_at = self.clock.now
            return
        if self._closed_at is None:
            return
        held = self.clock.now - self._closed_at
        self._closed_at = None
        on = max(0.0, held - self.t_on_s)
        residual = self.v0 * math.exp(-on / (self.ron_ohms * self.c_farads))
        self.residuals.append(residual)
        if residual >= self.lsb / 2:
            need = min_reset_s(self.c_farads, self.v0, self.lsb, self.ron_ohms, self.t_on_s)
            self.violations.append(
                f"reset held {held * 1e6:.1f} us leaves {residual * 1e3:.2f} mV on Cint "
                f"(half an LSB is {self.lsb * 500:.2f} mV): hold at least {need * 1e6:.1f} us")
