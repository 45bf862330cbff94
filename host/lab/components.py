"""Every component of a bench's circuit with the net on each of its pins: the netlist that the
KiCad export (wphil.lab.kicad) and the drawings (wphil.lab.schematic) are made from.

It is built from the same description as the wiring table (wphil.lab.build, board,
build_recurrent): the pinouts named once in board.py, the bench's [dac]/[wiring]/[circuit],
the Pico signals of drivers/hardware.py (each GPIO, its series resistor and pull-up or
pull-down, the part pins it reaches), `multiplier_signals` for the AD633 chains,
`opamp_section`/`integrator_section` for the op-amp sections. Net names are the wiring
table's (+12V, 3V3, SDA, LDAC0, VMID, REF1024, IN0, W0, S0_1, h0): a test holds every wire
of wiring.csv to the exported netlist. Pin numbers are the chips'
package pins (AD633 DIP-8, MCP6004 DIP-14, MCP4728 MSOP-10, DG412 DIP-16, Pico header 1..40).

A pin may be left open only when it is listed in its component's `unused` (a no-connect
flag in KiCad): the MCP4728's RDY/BSY (status output, never read), the DAC channels the
bench file assigns to nothing, the ADS1115's ALERT/RDY, an unused DG412 switch's S and D,
the Pico's free header pins. Unused inputs are tied, as the wiring table ties them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import ADS1115_VMID_BOTTOM_OHMS, Hardware
from wphil.lab.board import (
    MCP4728_BASE_ADDRESS,
    MCP4728_PINS,
    MCP6004_SECTIONS,
    MCP6004_VDD,
    MCP6004_VSS,
    PICO_3V3,
    PICO_ADC_VREF,
    PICO_AGND,
    PICO_GPIO_PIN,
    neurons,
    opamp_chips,
    opamp_section,
    opamp_sections_used,
)
from wphil.lab.pico_pins import PICO_GND_PINS

#: footprints (Debian kicad-footprints; checked to exist by tests/test_kicad.py)
FP_DIP8, FP_DIP14, FP_DIP16 = ("Package_DIP:DIP-8_W7.62mm", "Package_DIP:DIP-14_W7.62mm",
                               "Package_DIP:DIP-16_W7.62mm")
FP_MSOP10 = "Package_SO:MSOP-10_3x3mm_P0.5mm"
FP_R = "Resistor_THT:R_Axial_DIN0207_L6.3mm_D2.5mm_P10.16mm_Horizontal"
FP_C_CERAMIC = "Capacitor_THT:C_Disc_D5.0mm_W2.5mm_P5.00mm"
FP_C_FILM = "Capacitor_THT:C_Rect_L7.2mm_W2.5mm_P5.00mm_FKS2_FKP2_MKS2_MKP2"
FP_C_ELECTROLYTIC = "Capacitor_THT:CP_Radial_D5.0mm_P2.00mm"
FP_DIODE = "Diode_THT:D_DO-35_SOD27_P7.62mm_Horizontal"
FP_TERMINAL3 = "TerminalBlock:TerminalBlock_bornier-3_P5.08mm"
FP_TO92 = "Package_TO_SOT_THT:TO-92_Inline"
FP_VSSOP10 = "Package_SO:VSSOP-10_3x3mm_P0.5mm"
#: the Pico has no footprint in kicad-footprints 6.0: the project's own (wphil.lab.kicad_lib)
FP_PICO = "wphil:RaspberryPi_Pico_THT"

#: the supply rails, as nets; the ones the bench supply drives through its terminal block
RAILS = ("+12V", "-12V", "GND", "3V3")
SUPPLY_NETS = ("+12V", "-12V", "GND")


@dataclass
class Component:
    """One part on the board: KiCad library and symbol, footprint, pin number -> net."""

    ref: str
    lib: str
    symbol: str
    value: str
    footprint: str
    mpn: str
    role: str
    pins: dict[str, str] = field(default_factory=dict)
    unused: tuple[str, ...] = ()
    #: which sheet of the drawings shows it (Netlist.group when it was added)
    group: str = ""


class Netlist:
    """Components in build order; passives numbered R1.., C1.., D1.. as they are added."""

    def __init__(self, bench: Bench, hw: Hardware) -> None:
        self.bench, self.hw = bench, hw
        self.components: list[Component] = []
        self._count: dict[str, int] = {}
        self.group = "power"

    def add(self, component: Component) -> Component:
        component.group = component.group or self.group
        self.components.append(component)
        return component

    def passive(self, prefix: str, value: str, a: str, b: str, role: str, *,
                symbol: str = "", footprint: str = FP_R, mpn: str = "") -> Component:
        """A two-pin part between nets a (pin 1) and b (pin 2); a diode's pin 1 is K, 2 is A."""
        self._count[prefix] = self._count.get(prefix, 0) + 1
        lib, sym = {"R": ("Device", "R"), "C": ("Device", "C"),
                    "D": ("Diode", "1N4148")}[prefix]
        return self.add(Component(f"{prefix}{self._count[prefix]}", lib, symbol or sym, value,
                                  footprint, mpn or value, role, {"1": a, "2": b}))

    def by_ref(self) -> dict[str, Component]:
        return {c.ref: c for c in self.components}

    def nets(self) -> dict[str, list[tuple[str, str]]]:
        """net -> [(ref, pin number)], nets in order of first use."""
        out: dict[str, list[tuple[str, str]]] = {}
        for c in self.components:
            for pin, net in c.pins.items():
                out.setdefault(net, []).append((c.ref, pin))
        return out


def ohms(value: float) -> str:
    """4.7k, 499k, 330 as the parts list writes a resistor (wphil.lab.build_pico.ohms)."""
    return f"{value / 1e3:g}k" if value >= 1e3 else f"{value:g}"


def farads(value: float) -> str:
    for scale, suffix in ((1e-6, "uF"), (1e-9, "nF")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value * 1e12:g}pF"


def decouple(net: Netlist, ref: str, rail: str) -> None:
    """The 0.1 uF ceramic capacitor at a chip's supply pin."""
    net.passive("C", "0.1uF", rail, "GND", f"decoupling {ref} {rail}", footprint=FP_C_CERAMIC,
                mpn="0.1uF 50V X7R ceramic, 5.08 mm")


def supply(net: Netlist) -> None:
    """The bench supply's terminal block (+12V, GND, -12V) and its bulk capacitors."""
    rail = f"{net.bench.circuit.rail_volts:g}V"
    net.add(Component("J1", "Connector", "Screw_Terminal_01x03", f"+-{rail} supply in",
                      FP_TERMINAL3, "3-way 5.08 mm terminal block", "bench supply in",
                      {"1": "+12V", "2": "GND", "3": "-12V"}))
    # electrolytic: pin 1 is +; on the negative rail the + end goes to GND
    for plus, minus in (("+12V", "GND"), ("GND", "-12V")):
        net.passive("C", "10uF", plus, minus, f"bulk {plus if plus != 'GND' else minus}",
                    symbol="C_Polarized", footprint=FP_C_ELECTROLYTIC,
                    mpn="10uF 25V electrolytic, radial 5 mm")


def signal_nets(hw: Hardware) -> dict[tuple[str, str], str]:
    """(ref, pin number) -> net of every part pin a Pico signal reaches ("DAC0 LDAC (4)")."""
    out = {}
    for s in hw.signals:
        for dest in s.dests:
            ref, number = re.fullmatch(r"(\S+) \S+ \((\d+)\)", dest).groups()
            out[(ref, number)] = s.name
    return out


def pico(net: Netlist) -> Component:
    """The Pico: header pin -> net for the pins the bench uses, the rest listed unused."""
    b = net.bench
    pins = {str(p): "GND" for p in PICO_GND_PINS}
    pins.update({str(PICO_3V3): "3V3", str(PICO_AGND): "GND"})
    if b.adc.kind == "rp2040":
        pins[str(PICO_ADC_VREF)] = "ADC_VREF"
    for s in net.hw.signals:
        pins[str(PICO_GPIO_PIN[s.gpio])] = f"{s.name}_PICO" if s.series_ohms else s.name
    unused = tuple(str(p) for p in range(1, 41) if str(p) not in pins)
    return net.add(Component("Pico", "wphil", "RaspberryPi_Pico", "Raspberry Pi Pico", FP_PICO,
                             "Raspberry Pi Pico (SC0915)", f"controller, I2C{b.dac.i2c_id}, ADC",
                             pins, unused))


def signal_resistors(net: Netlist) -> None:
    """Each Pico signal's series resistor (Pico side: NAME_PICO) and its pull-up or pull-down
    at the parts (drivers/hardware.py sizes them)."""
    for s in net.hw.signals:
        if s.series_ohms:
            r = ohms(s.series_ohms)
            net.passive("R", r, f"{s.name}_PICO", s.name, f"{s.name} series",
                        mpn=f"{r} 5% 0.25W")
        if s.pull_ohms:
            r = ohms(s.pull_ohms)
            way = "pull-up" if s.pull_to == "3V3" else "pull-down"
            net.passive("R", r, s.name, s.pull_to, f"{s.name} {way}",
                        mpn=f"{r} 1% 0.25W metal film")


def dac_nets(bench: Bench) -> dict[int, str]:
    """DAC channel -> the net it drives (W{k}, IN{j}, a fixed channel's name)."""
    nets = {ch: f"W{k}" for k, ch in enumerate(bench.wiring.weights)}
    nets.update({ch: f"IN{j}" for j, ch in enumerate(bench.wiring.inputs)})
    nets.update({f.channel: f.name or f"FIXED{f.channel}" for f in bench.wiring.fixed})
    return nets


def dacs(net: Netlist) -> None:
    """MCP4728s: SDA, SCL and LDAC from the Pico signals that reach them, RDY/BSY unused."""
    b, nets, signals = net.bench, dac_nets(net.bench), signal_nets(net.hw)
    for chip in range(b.dac.chips):
        ref = f"DAC{chip}"
        pins = {str(MCP4728_PINS["VDD"]): "3V3", str(MCP4728_PINS["VSS"]): "GND"}
        pins.update({p: n for (r, p), n in signals.items() if r == ref})
        unused = [str(MCP4728_PINS["RDY"])]
        for i in range(4):
            pin = str(MCP4728_PINS[f"VOUT{'ABCD'[i]}"])
            if 4 * chip + i in nets:
                pins[pin] = nets[4 * chip + i]
            else:
                unused.append(pin)
        net.add(Component(ref, "Analog_DAC", "MCP4728", "MCP4728", FP_MSOP10,
                          "MCP4728-E/UN on an MSOP-10 to DIP-10 adapter",
                          f"DAC at 0x{MCP4728_BASE_ADDRESS + chip:02X}", pins, tuple(unused)))
        decouple(net, ref, "3V3")


def vmid(net: Netlist, buffer_pins: dict[str, str]) -> None:
    """VMID = ADC_VREF / 2: the divider, its filter, and the follower on a spare section."""
    b = net.bench
    r = ohms(b.circuit.vmid_divider_ohms)
    ads = b.adc.kind == "ads1115"       # VMID at the ADS1115's mid-scale, from 3V3
    bottom = ohms(ADS1115_VMID_BOTTOM_OHMS) if ads else r
    net.passive("R", r, "3V3" if ads else "ADC_VREF", "VMID_DIV", "VMID divider top",
                mpn=f"{r} 1% 0.25W metal film")
    net.passive("R", bottom, "VMID_DIV", "GND",
                "VMID divider bottom" + ("" if ads else " (to AGND, pin 33)"),
                mpn=f"{bottom} 1% 0.25W metal film")
    net.passive("C", "1uF", "VMID_DIV", "GND", "VMID filter", footprint=FP_C_CERAMIC,
                mpn="1uF 50V X7R ceramic, 5.08 mm")
    chip, sec = opamp_section(len(neurons(b)))
    out, minus, plus = MCP6004_SECTIONS[sec]
    buffer_pins.update({f"{chip}.{out}": "VMID", f"{chip}.{minus}": "VMID",
                        f"{chip}.{plus}": "VMID_DIV"})


def opamps(net: Netlist, section_pins: dict[str, str]) -> None:
    """The MCP6004s, from the pins their sections were given ("UA1.3" -> net); a spare
    section is a follower of VMID, so no input floats."""
    for section in range(opamp_sections_used(net.bench), 4 * opamp_chips(net.bench)):
        chip, sec = f"UA{section // 4 + 1}", "ABCD"[section % 4]
        out, minus, plus = MCP6004_SECTIONS[sec]
        spare = f"SPARE_{chip}{sec}"
        section_pins.update({f"{chip}.{out}": spare, f"{chip}.{minus}": spare,
                             f"{chip}.{plus}": "VMID"})
    for c in range(1, opamp_chips(net.bench) + 1):
        ref = f"UA{c}"
        pins = {k.split(".")[1]: v for k, v in section_pins.items() if k.split(".")[0] == ref}
        pins.update({str(MCP6004_VDD): "3V3", str(MCP6004_VSS): "GND"})
        net.add(Component(ref, "Amplifier_Operational", "MCP6004", "MCP6004", FP_DIP14,
                          "MCP6004-I/P", "quad op-amp: neurons, VMID buffer", pins))
        decouple(net, ref, "3V3")

