"""The bring-up steps of a bench, as docs/hardware/bring-up.md prints them: the pins from the
bench's hardware description, the thresholds from wphil.lab.bringup.

    python -m wphil.lab.bringup_steps docs/hardware/bring-up.md

rewrites each `<!-- bringup:NAME -->` ... `<!-- /bringup:NAME -->` block of the page from
the built-in bench NAME (tests/test_wiring_consistency.py holds the page to it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.bench_files import load_bench
from wphil.drivers.hardware import MCP4728_BASE_ADDRESS, Signal, hardware
from wphil.drivers.netlist import readout_neurons
from wphil.lab.board import MCP6004_SECTIONS, neuron_name, neurons, opamp_section
from wphil.lab.bringup import (
    OFFSET_SIGMAS,
    reset_bound,
    reset_read_us,
    trim_tolerance,
    zero_codes,
    zero_weight_bound,
)
from wphil.lab.build_pico import ohms
from wphil.lab.build_trim import has_trimmers, trimmer_ref

# the command that reads every DAC's address bits back, each chip picked by its LDAC line
# (General Call Read Address Bits, DS22187E Fig. 5-6): wphil.lab.dac_address.verify_addresses
ADDRESS_VERIFY = "wphil dac-address --verify"


def _pin(s: Signal) -> str:
    return f"{s.name} on GP{s.gpio} (Pico pin {s.pico_pin})"


def _line(s: Signal) -> str:
    text = _pin(s) + (f" through {ohms(s.series_ohms)} ohm" if s.series_ohms else "")
    text += (" to " + ", ".join(s.dests)) if s.dests else " (ADC input, from its neuron's 1k)"
    if s.pull_ohms:
        kind = "pull-up" if s.pull_to == "3V3" else "pull-down"
        text += f"; {kind} {ohms(s.pull_ohms)} ohm to {s.pull_to}"
    return text


def bringup_steps(bench: Bench) -> list[str]:
    """Numbered bring-up steps for `bench`, one string each (Markdown)."""
    hw, name = hardware(bench), bench.name
    steps = ["Supplies off. Wire from `wiring.md` in its order, then check every Pico "
             "connection against this list:<br>" + "<br>".join(_line(s) for s in hw.signals)]
    steps.append("Analog rails still off: plug the Pico into USB (3V3 comes up: DACs, op-amps) "
                 "and run `wphil flash`.")
    for k in range(1, hw.dac_chips):
        steps.append(f"Address DAC{k}: `wphil dac-address --bench {name} --chip {k} --to "
                     f"0x{MCP4728_BASE_ADDRESS + k:02X}` (it drives {_pin(hw.signal(f'LDAC{k}'))}).")
    ldacs = ", ".join(f"DAC{k} by {_pin(hw.signal(f'LDAC{k}'))}" for k in range(hw.dac_chips))
    steps.append(f"Check every DAC's address bits: `{ADDRESS_VERIFY} --bench {name}`; each chip, "
                 f"picked by its LDAC line ({ldacs}), must report the address bits of "
                 "0x60 + k in its EEPROM and its register.")
    steps.append(f"Rails up, then the DACs to their safe code: `wphil power on --psu RESOURCE "
                 f"--bench {name} --device auto` (docs/hardware/power.md).")
    if has_trimmers(bench):
        steps.append(trim_step(bench))
    checks = (f"every DAC answers at 0x{MCP4728_BASE_ADDRESS:02X}.."
              f"0x{MCP4728_BASE_ADDRESS + hw.dac_chips - 1:02X}; every readout within "
              f"+-{zero_weight_bound(bench):.2f} V of VMID with all weights at zero"
              + (" (after the trim step above)" if has_trimmers(bench) else ""))
    if hw.reset_switches:
        checks += (f"; {reset_read_us(bench)} us after a reset every integrator within "
                   f"+-{reset_bound(bench) * 1e3:.0f} mV of VMID (reset switch on "
                   f"{_pin(hw.signal('RESET'))})")
    steps.append(f"`wphil check --bench {name} --device auto --psu RESOURCE`: {checks}; "
                 f"rails within 5% of [power] volts ({OFFSET_SIGMAS:g} sigma thresholds).")
    steps.append(f"Power down: `wphil power off --psu RESOURCE --bench {name} --device auto` "
                 "(DACs to their safe code first, then the rails in reverse order), then unplug "
                 "the USB.")
    return steps


def trim_step(bench: Bench) -> str:
    """Trim each neuron to VMID, weights and inputs at zero, layer by layer (upstream first:
    a neuron's trim is set with the neurons that feed it already trimmed)."""
    channel = dict(zip(readout_neurons(bench, hidden=True),
                       list(bench.wiring.outputs) + list(bench.wiring.hidden)))
    tol = trim_tolerance(bench)
    order = []
    for n, depth, unit in neurons(bench):
        chip, sec = opamp_section(n)
        out = MCP6004_SECTIONS[sec][0]
        read = f", ADC{channel[n]}" if n in channel else ""
        order.append(f"{trimmer_ref(n)} for {neuron_name(bench, depth, unit)} "
                     f"({chip} OUT{sec} ({out}){read})")
    inputs, weights = zero_codes(bench)
    at_safe = bool((weights == bench.safe_code).all() and (inputs == bench.safe_code).all())
    dmm = ("or, with the DACs still at their safe code (weight and input zero on this bench), a "
           "DMM on DC volts between the neuron's output pin and the VMID bus" if at_safe else
           "a DMM between the neuron's output pin and the VMID bus reads the same while "
           "`wphil check` runs")
    return (f"Trim each neuron to VMID, in this order: {', '.join(order)}. With every weight and "
            f"input at zero, turn the neuron's trimmer until it reads within +-{tol * 1e3:.0f} "
            f"mV of VMID ([circuit] offset_trim_volts {bench.circuit.offset_trim_volts:g} V at "
            f"the summing node, times Rf/Rin). Read it with `wphil check --bench {bench.name} "
            f"--device auto` (it sets the zeros and prints each ADC readout from VMID; run it "
            f"again after each turn), {dmm}. Before the trim a neuron may read anywhere up to "
            f"the limiter's +-{bench.topology.vsat:g} V; one that does not pass through VMID "
            "over its trimmer's travel is miswired (its trimmer, the 68k/10k or its first "
            "AD633's Z).")


def bringup_block(bench: Bench) -> str:
    lines = [f"<!-- bringup:{bench.name} -->", f"**{bench.name}**", ""]
    lines += [f"{i}. {step}" for i, step in enumerate(bringup_steps(bench), 1)]
    return "\n".join(lines + [f"<!-- /bringup:{bench.name} -->"])


BLOCK = re.compile(r"<!-- bringup:([\w.-]+) -->.*?<!-- /bringup:\1 -->", re.S)


def rewrite(page: Path) -> None:
    text = page.read_text()
    page.write_text(BLOCK.sub(lambda m: bringup_block(load_bench(m.group(1))), text))


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]))
