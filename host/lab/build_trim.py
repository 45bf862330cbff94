"""The per-neuron offset trimmers of a bench whose [circuit] offset_trim_volts > 0: their
wiring rows, parts-list rows and netlist components (wphil.lab.build, components_analog).

Each neuron n gets RV(n+1), a 10k multi-turn trimmer across 3V3 (pin 1) and GND (pin 3); its
wiper (pin 2, net TWn) goes through 68k to ZTn, the Z input of the first AD633 of the
neuron's chain, which also takes VMID through 10k (drivers/hardware.py sizes them,
drivers/circuit_model.py `trimmed` models the result). At bring-up each trimmer is turned
until its neuron reads VMID with every weight and input at zero (wphil.lab.bringup_steps).
A bench without trimmers chains its first Z from VMID, as before.
"""

from __future__ import annotations

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import (
    TRIM_POT_MPN,
    TRIM_POT_OHMS,
    TRIM_SERIES_OHMS,
    TRIM_VMID_OHMS,
)
from wphil.lab.board import Part, neuron_name, neurons
from wphil.lab.build_pico import ohms
from wphil.lab.components import Component, Netlist

#: kicad-footprints' Bourns 3296W (pins 1, 2 = wiper, 3 in line at 2.54 mm); checked to exist
#: by tests/test_kicad.py like every footprint the netlist names
FP_TRIMMER = "Potentiometer_THT:Potentiometer_Bourns_3296W_Vertical"
#: Device:R_Potentiometer_Trim: pins 1 and 3 the track's ends, 2 the wiper (passive)
TRIMMER_SYMBOL = ("Device", "R_Potentiometer_Trim")


def has_trimmers(bench: Bench) -> bool:
    return bench.circuit.offset_trim_volts > 0


def first_z(bench: Bench, n: int) -> str:
    """The net on the Z input of neuron n's first AD633: ZTn when trimmed, else VMID."""
    return f"ZT{n}" if has_trimmers(bench) else "VMID"


def trimmer_ref(n: int) -> str:
    return f"RV{n + 1}"


def trim_wires(bench: Bench, add) -> None:
    """Per neuron: the trimmer across 3V3/GND, its wiper net, the 68k and the 10k into ZTn."""
    if not has_trimmers(bench):
        return
    series, to_vmid = ohms(TRIM_SERIES_OHMS), ohms(TRIM_VMID_OHMS)
    for n, depth, unit in neurons(bench):
        rv, name = trimmer_ref(n), neuron_name(bench, depth, unit)
        add("trim", f"{rv} end (1)", "3V3 rail", "3V3", part="RV", count=1,
            note=f"{ohms(TRIM_POT_OHMS)} multi-turn trimmer of neuron {name}")
        add("trim", f"{rv} end (3)", "GND rail", "GND")
        add("trim", f"{rv} wiper (2)", f"TW{n}", f"TW{n}")
        add("trim", f"R {series} (trim series)", f"TW{n} to ZT{n}", f"ZT{n}", part="Rtrim",
            count=1)
        add("trim", f"R {to_vmid} (trim to VMID)", f"VMID bus to ZT{n}", f"ZT{n}", part="Rtrimv",
            count=1, note=f"ZT{n}: the Z of {name}'s first AD633")


def trim_parts(bench: Bench) -> list[Part]:
    n_n = len(neurons(bench)) if has_trimmers(bench) else 0
    return [Part("RV", "trimmer, 25-turn cermet", f"{ohms(TRIM_POT_OHMS)} ({TRIM_POT_MPN})", n_n,
                 "neuron offset trim", 2.50),
            Part("Rtrim", "resistor 1%", ohms(TRIM_SERIES_OHMS), n_n, "trimmer wiper to Z", 0.10),
            Part("Rtrimv", "resistor 1%", ohms(TRIM_VMID_OHMS), n_n, "VMID to the trimmed Z",
                 0.10)]


def trim_components(net: Netlist, n: int) -> None:
    """Neuron n's trimmer and its two resistors into the netlist (a no-op untrimmed)."""
    bench = net.bench
    if not has_trimmers(bench):
        return
    name = [neuron_name(bench, d, u) for m, d, u in neurons(bench) if m == n][0]
    lib, symbol = TRIMMER_SYMBOL
    net.add(Component(trimmer_ref(n), lib, symbol, ohms(TRIM_POT_OHMS), FP_TRIMMER, TRIM_POT_MPN,
                      f"offset trimmer of {name}", {"1": "3V3", "2": f"TW{n}", "3": "GND"}))
    series, to_vmid = ohms(TRIM_SERIES_OHMS), ohms(TRIM_VMID_OHMS)
    net.passive("R", series, f"TW{n}", f"ZT{n}", f"trim series of {name}",
                mpn=f"{series} 1% 0.25W metal film")
    net.passive("R", to_vmid, "VMID", f"ZT{n}", f"trim to VMID of {name}",
                mpn=f"{to_vmid} 1% 0.25W metal film")
