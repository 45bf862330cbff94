"""The Raspberry Pi Pico's 40 header pins: name and KiCad electrical type of each.

Source: the official Raspberry Pi Pico R3 pinout sheet ([PIN] in HARDWARE-FACTS; pin 1 GP0
at the USB end, 1..20 down one side, 21..40 up the other). KiCad 6.0's symbol libraries
have no Pico module, so wphil.lab.kicad_lib writes a project-local symbol from this table.
Types are for a Pico powered from its USB port, as on the bench: 3V3(OUT) and ADC_VREF are
power outputs (the on-board regulator and its R-C filtered copy), VBUS is the USB 5 V
(a power output when USB powers the board), GND/AGND are power inputs, GPIOs bidirectional.
"""

from __future__ import annotations

_GPIO_ORDER = {1: 0, 2: 1, 4: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8, 12: 9, 14: 10, 15: 11,
               16: 12, 17: 13, 19: 14, 20: 15, 21: 16, 22: 17, 24: 18, 25: 19, 26: 20,
               27: 21, 29: 22, 31: 26, 32: 27, 34: 28}
PICO_GND_PINS = (3, 8, 13, 18, 23, 28, 38)
_SPECIAL = {30: ("RUN", "input"), 33: ("AGND", "power_in"), 35: ("ADC_VREF", "power_out"),
            36: ("3V3(OUT)", "power_out"), 37: ("3V3_EN", "input"), 39: ("VSYS", "power_in"),
            40: ("VBUS", "power_out")}


def header() -> dict[int, tuple[str, str]]:
    """Header pin -> (name, KiCad pin type)."""
    out: dict[int, tuple[str, str]] = {}
    for pin in range(1, 41):
        if pin in _GPIO_ORDER:
            gp = _GPIO_ORDER[pin]
            name = f"GP{gp}" + (f"/ADC{gp - 26}" if gp >= 26 else "")
            out[pin] = (name, "bidirectional")
        elif pin in PICO_GND_PINS:
            out[pin] = ("GND", "power_in")
        else:
            out[pin] = _SPECIAL[pin]
    return out


def gpio_pin(gp: int) -> int:
    """The header pin of GPIO `gp` (ValueError for a GPIO not on the header: 23, 24, 25, 29)."""
    for pin, g in _GPIO_ORDER.items():
        if g == gp:
            return pin
    raise ValueError(f"GP{gp} is not on the Pico header")
