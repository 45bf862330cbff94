"""The wiring around the Pico (wphil.lab.build): supplies and bulk decoupling, the I2C bus and
its pull-ups, each MCP4728 with its decoupling and its LDAC line, and the spare op-amp sections
tied off. Every Pico pin comes from the bench's hardware description (wphil.drivers.hardware).
"""

from __future__ import annotations

from wphil.drivers.bench import Bench
from wphil.drivers.hardware import (
    ADS1115_ADDRESS,
    ADS1115_PINS,
    MCP4728_BASE_ADDRESS,
    MCP4728_PINS,
    PICO_3V3,
    PICO_GND,
    Hardware,
    Signal,
    dac_pin_name,
)
from wphil.lab.board import MCP6004_SECTIONS, opamp_chips, opamp_sections_used


def ohms(value: float) -> str:
    """'330', '4.7k', '100k' as the parts list writes a resistor."""
    return f"{value / 1e3:g}k" if value >= 1e3 else f"{value:g}"


def supply_wires(bench: Bench, add) -> None:
    add("power", "PSU VA+ (+)", "+12V rail", "+12V", note=f"{bench.circuit.rail_volts:g} V, "
        "current limit per [power]; all supplies OFF while wiring", part="PSU", count=1)
    add("power", "PSU VA- (-)", "-12V rail", "-12V", note="CH2 + terminal to GND: the negative rail")
    add("power", "PSU COM", "GND rail", "GND")
    add("power", f"Pico pin {PICO_GND} (GND)", "GND rail", "GND",
        note="common ground: the Pico and the analog rails", part="Pico", count=1)
    add("power", f"Pico pin {PICO_3V3} (3V3)", "3V3 rail", "3V3")
    add("power", "C 10uF", "+12V rail to GND rail", "+12V", note="bulk decoupling", part="Cbulk",
        count=1)
    add("power", "C 10uF", "-12V rail to GND rail", "-12V", note="bulk decoupling", part="Cbulk",
        count=1)


def i2c_wires(hw: Hardware, add) -> None:
    for name in ("SDA", "SCL"):
        s = hw.signal(name)
        add("i2c", f"{s.label.replace(')', f' {name})')}", f"{name} bus", name,
            note=f"driven by the {s.driven_by}")
    for name in ("SDA", "SCL"):
        s = hw.signal(name)
        add("i2c", f"R {ohms(s.pull_ohms)}", f"{name} bus to 3V3 rail", name, note="I2C pull-up "
            "(a breakout's own pull-ups are in parallel: see the parts list)", part="Rpu", count=1)


def dac_wires(hw: Hardware, add) -> None:
    for chip in range(hw.dac_chips):
        name = f"DAC{chip}"
        address = f"0x{MCP4728_BASE_ADDRESS + chip:02X}"
        add("dacs", dac_pin_name(chip, "VDD"), "3V3 rail", "3V3",
            note=f"MCP4728 at {address}", part="DAC0..", count=1)
        add("dacs", dac_pin_name(chip, "VSS"), "GND rail", "GND")
        add("dacs", dac_pin_name(chip, "SCL"), "SCL bus", "SCL")
        add("dacs", dac_pin_name(chip, "SDA"), "SDA bus", "SDA")
        add("dacs", f"C 0.1uF at {name}", "3V3 to GND", "3V3", note="decoupling", part="Cdec",
            count=1)
        pulled_line(hw.signal(f"LDAC{chip}"), "dacs", add, "Rldac", "Rpd",
                     f"low unless `wphil dac-address` drives it; the address {address}")
        add("dacs", f"{name} RDY ({MCP4728_PINS['RDY']})", "not connected", "NC",
            note="RDY/BSY output, unused (the firmware waits out the EEPROM write)")


def pulled_line(s: Signal, stage: str, add, series_ref: str, pull_ref: str, why: str) -> None:
    """A GPIO through its series resistor to its part pins, with a pull-down at the parts."""
    net, resistor = s.name, f"R {ohms(s.series_ohms)} ({s.name} series)"
    add(stage, s.label, resistor, f"{net}_PICO", note=f"driven by {s.driven_by}",
        part=series_ref, count=1)
    for dest in s.dests:
        add(stage, resistor, dest, net)
    add(stage, f"R {ohms(s.pull_ohms)} ({s.name} pull-down)", f"{s.dests[0]} to {s.pull_to} rail",
        net, note=f"{why}; high: {s.high_volts():.2f} V at the Pico's VOH min", part=pull_ref,
        count=1)


def spare_opamp_wires(bench: Bench, add) -> None:
    """Unused MCP6004 sections as followers of VMID, so no input floats."""
    for section in range(opamp_sections_used(bench), 4 * opamp_chips(bench)):
        chip, sec = f"UA{section // 4 + 1}", "ABCD"[section % 4]
        out, minus, plus = MCP6004_SECTIONS[sec]
        add("vmid", f"{chip} OUT{sec} ({out})", f"{chip} -IN{sec} ({minus})", f"SPARE_{chip}{sec}",
            note="spare section: a follower")
        add("vmid", "VMID bus", f"{chip} +IN{sec} ({plus})", "VMID", note="spare section's input")


def ads1115_wires(bench: Bench, add) -> None:
    """The ADS1115 on the DACs' I2C bus at 3.3 V, ADDR to GND (0x48); the neurons reach its
    AIN pins through their 1k (wphil.lab.build); unused inputs to GND."""
    p = ADS1115_PINS
    add("adc", f"ADS1 VDD ({p['VDD']})", "3V3 rail", "3V3",
        note=f"ADS1115 at 0x{ADS1115_ADDRESS:02X}, 3.3 V: inputs 0..3.3 V usable", part="ADS1",
        count=1)
    add("adc", f"ADS1 GND ({p['GND']})", "GND rail", "GND")
    add("adc", f"ADS1 SCL ({p['SCL']})", "SCL bus", "SCL")
    add("adc", f"ADS1 SDA ({p['SDA']})", "SDA bus", "SDA")
    add("adc", f"ADS1 ADDR ({p['ADDR']})", "GND rail", "GND", note="address 0x48")
    add("adc", f"ADS1 ALERT/RDY ({p['ALERT/RDY']})", "not connected", "NC",
        note="comparator output, unused (the firmware polls the OS bit)")
    add("adc", "C 0.1uF at ADS1", "3V3 to GND", "3V3", note="decoupling", part="Cdec", count=1)
    used = set(bench.wiring.outputs) | set(bench.wiring.hidden)
    for ch in range(4):
        if ch not in used:
            add("adc", f"ADS1 AIN{ch} ({p[f'AIN{ch}']})", "GND rail", "GND",
                note="unused input tied low")
