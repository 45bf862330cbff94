"""The project-local KiCad library for the two parts KiCad 6.0 does not have: the AD633
multiplier and the Raspberry Pi Pico module (symbols), and the Pico's footprint.

Written into the build package beside the netlist (wphil.kicad_sym, wphil.pretty/,
sym-lib-table, fp-lib-table), so Pcbnew finds `wphil:...` when it imports the netlist.
Sources:
- AD633 DIP-8: Analog Devices AD633 datasheet, Rev B page 1 connection diagram and Rev E
  Figure 1 ([A1]/[A4] in HARDWARE-FACTS): 1 X1, 2 X2, 3 Y1, 4 Y2, 5 -VS, 6 Z, 7 W, 8 +VS.
  Types as KiCad gives an analog multiplier's pins: inputs, an output, power inputs.
- Pico: the official Raspberry Pi Pico R3 pinout ([PIN]), wphil.lab.pico_pins. The footprint
  is the module's two 20-pin rows, 2.54 mm pitch, 17.78 mm apart (Pico datasheet, mechanical
  drawing: 21 mm board, header rows 0.7 in apart); pad numbers follow the pinout.
"""

from __future__ import annotations

from pathlib import Path

from wphil.lab.board import AD633_PINS
from wphil.lab.pico_pins import header

LIB = "wphil"
AD633_TYPES = {"X1": "input", "X2": "input", "Y1": "input", "Y2": "input", "Z": "input",
               "W": "output", "+Vs": "power_in", "-Vs": "power_in"}
_FONT = "(effects (font (size 1.27 1.27)))"
_HIDDEN = "(effects (font (size 1.27 1.27)) hide)"


def _prop(name: str, value: str, pid: int, y: float, hide: bool = False) -> str:
    return f'    (property "{name}" "{value}" (id {pid}) (at 0 {y:g} 0) {_HIDDEN if hide else _FONT})'


def _pin(kind: str, x: float, y: float, angle: int, name: str, number: int) -> str:
    return (f'      (pin {kind} line (at {x:g} {y:g} {angle}) (length 2.54) '
            f'(name "{name}" {_FONT}) (number "{number}" {_FONT}))')


def _symbol(name: str, ref: str, footprint: str, datasheet: str, half_w: float,
            pins: list[tuple[str, str, int]]) -> list[str]:
    """A box symbol: pins [(name, type, number)], first half on the left, the rest right."""
    left, right = pins[: (len(pins) + 1) // 2], pins[(len(pins) + 1) // 2:]
    half_h = 1.27 * (len(left) + 1)
    lines = [f'  (symbol "{name}" (in_bom yes) (on_board yes)',
             _prop("Reference", ref, 0, half_h + 1.27), _prop("Value", name, 1, -half_h - 1.27),
             _prop("Footprint", footprint, 2, -half_h - 3.81, hide=True),
             _prop("Datasheet", datasheet, 3, -half_h - 6.35, hide=True),
             f'    (symbol "{name}_0_1" (rectangle (start {-half_w:g} {half_h:g}) '
             f'(end {half_w:g} {-half_h:g}) (stroke (width 0.254) (type default) '
             '(color 0 0 0 0)) (fill (type background))))',
             f'    (symbol "{name}_1_1"']
    for side, group in ((-1, left), (1, right)):
        for i, (pin_name, kind, number) in enumerate(group):
            y = half_h - 2.54 * (i + 1) + 1.27
            lines.append(_pin(kind, side * (half_w + 2.54), round(y, 2), 0 if side < 0 else 180,
                              pin_name, number))
    return lines + ["    )", "  )"]


def symbol_library() -> str:
    """wphil.kicad_sym: AD633 and RaspberryPi_Pico (KiCad 6 format)."""
    ad633 = sorted(((n, AD633_TYPES[n], p) for n, p in AD633_PINS.items()), key=lambda t: t[2])
    pico = [(name, kind, pin) for pin, (name, kind) in sorted(header().items())]
    lines = ["(kicad_symbol_lib (version 20211014) (generator wphil)",
             "  ; AD633: Analog Devices datasheet Rev B p.1 / Rev E Fig. 1 (DIP-8 pinout)",
             "  ; RaspberryPi_Pico: official Raspberry Pi Pico R3 pinout sheet"]
    lines += _symbol("AD633", "U", "Package_DIP:DIP-8_W7.62mm",
                     "https://www.analog.com/media/en/technical-documentation/data-sheets/AD633.pdf",
                     7.62, ad633)
    lines += _symbol("RaspberryPi_Pico", "U", f"{LIB}:RaspberryPi_Pico_THT",
                     "https://datasheets.raspberrypi.com/pico/Pico-R3-A4-Pinout.pdf", 10.16, pico)
    return "\n".join(lines + [")"]) + "\n"


def pico_footprint() -> str:
    """RaspberryPi_Pico_THT.kicad_mod: pads 1..20 down the left row, 21..40 up the right."""
    pitch, rows = 2.54, 17.78
    lines = ['(footprint "RaspberryPi_Pico_THT" (version 20211014) (generator wphil) (layer "F.Cu")',
             '  (descr "Raspberry Pi Pico on its two 20-pin headers, 2.54 mm pitch, rows 17.78 mm '
             'apart (Pico datasheet mechanical drawing)")',
             '  (attr through_hole)',
             f'  (fp_text reference "REF**" (at {rows / 2:g} -3.5) (layer "F.SilkS") {_FONT})',
             f'  (fp_text value "RaspberryPi_Pico" (at {rows / 2:g} 51.5) (layer "F.Fab") {_FONT})',
             f'  (fp_rect (start -1.61 -1.5) (end {rows + 1.61:g} 49.5) (layer "F.SilkS") '
             '(width 0.12) (fill none))']
    for pad in range(1, 41):
        x, y = (0.0, (pad - 1) * pitch) if pad <= 20 else (rows, (40 - pad) * pitch)
        shape = "rect" if pad == 1 else "oval"
        lines.append(f'  (pad "{pad}" thru_hole {shape} (at {x:g} {y:g}) (size 1.7 1.7) '
                     '(drill 1.02) (layers *.Cu *.Mask))')
    return "\n".join(lines + [")"]) + "\n"


def write_library(out: Path) -> list[Path]:
    """The symbol and footprint library and the project's lib tables, in `out`."""
    sym = out / f"{LIB}.kicad_sym"
    sym.write_text(symbol_library())
    pretty = out / f"{LIB}.pretty"
    pretty.mkdir(exist_ok=True)
    fp = pretty / "RaspberryPi_Pico_THT.kicad_mod"
    fp.write_text(pico_footprint())
    (out / "sym-lib-table").write_text(
        f'(sym_lib_table\n  (lib (name "{LIB}")(type "KiCad")(uri "${{KIPRJMOD}}/{LIB}.kicad_sym")'
        '(options "")(descr "wphil: AD633, Raspberry Pi Pico"))\n)\n')
    (out / "fp-lib-table").write_text(
        f'(fp_lib_table\n  (lib (name "{LIB}")(type "KiCad")(uri "${{KIPRJMOD}}/{LIB}.pretty")'
        '(options "")(descr "wphil: Raspberry Pi Pico module"))\n)\n')
    return [sym, fp, out / "sym-lib-table", out / "fp-lib-table"]
