"""Every part inside its absolute maximum ratings, and every Pico ADC pin inside 0..3V3, on
the XOR netlist's DC operating points at the supplies' extremes and with the analog rails
off (power-up and power-down: the Pico and the DACs on, +-12 V at 0), for the nominal
board and a worst-case one (drivers/netlist_limits.py, which cites each limit)."""

from __future__ import annotations

import itertools

import pytest

from wphil.drivers.analog import BoardInstance
from wphil.drivers.bench_files import load_bench
from wphil.drivers.circuit import CircuitParts
from wphil.drivers.circuit_model import trimmed
from wphil.drivers.netlist_limits import Supplies, operating_point, violations
from wphil.drivers.spice_engine import SpiceEngine, find_libngspice

pytestmark = pytest.mark.skipif(find_libngspice() is None, reason="libngspice not installed")

#: the rails' extremes: [power] max_volts (the supply's over-voltage limit) and -5%; the
#: Pico's 3V3 from 3.0 V (the ADC's lowest qualified reference) to 3.63 V (RP2040 IOVDD max)
RAIL_MAX, RAIL_MIN = 12.5, 11.4
V3V3 = (3.0, 3.63)
POWERED = [Supplies(p, n, v) for (p, n), v in itertools.product(
    itertools.product((RAIL_MIN, RAIL_MAX), repeat=2), V3V3)]
RAILS_OFF = [Supplies(p, n, v) for (p, n), v in itertools.product(
    ((0.0, 0.0), (RAIL_MAX, 0.0), (0.0, RAIL_MAX)), V3V3)]


def dac_states(bench) -> list[dict[int, float]]:
    """All DACs (the reference too: at power-up they hold whatever their EEPROM says) at 0 V,
    at mid-scale (every weight zero) and at the worst-case full scale (VREF 2.089 V + 20 mV
    offset, DS22187E p.4), and the weights high with the rest low."""
    full = 2.089 + 0.020
    states = [{ch: v for ch in range(bench.dac_channels)} for v in (0.0, 1.024, full)]
    mixed = {ch: (full if ch in bench.wiring.weights else 0.0) for ch in range(bench.dac_channels)}
    return states + [mixed]


def boards(bench):
    yield "nominal", CircuitParts.nominal(bench)
    worst = load_bench("xor-2-2-1", "worst")
    converters = BoardInstance.draw(worst, 1000)
    yield "worst 1000", trimmed(worst, CircuitParts.draw(worst, 1000), converters)


@pytest.mark.slow
@pytest.mark.parametrize("state", ["powered", "rails off"])
def test_every_part_stays_inside_its_absolute_maximum_ratings(state: str) -> None:
    bench = load_bench("xor-2-2-1")
    engine = SpiceEngine()
    found, solved = [], 0
    try:
        for (name, parts), supplies, dacs in itertools.product(
                boards(bench), POWERED if state == "powered" else RAILS_OFF, dac_states(bench)):
            op = operating_point(engine, bench, parts, dacs, supplies)
            found += [f"{name}: {v}" for v in violations(bench, supplies, op)]
            solved += 1
    finally:
        engine.close()
    assert solved == 2 * (8 if state == "powered" else 6) * 4
    assert not found, "\n".join(found[:10])


def test_the_check_sees_an_adc_pin_driven_past_3v3() -> None:
    """The check can fail: a neuron output at 3.9 V on a 3.6 V supply is reported."""
    bench = load_bench("xor-2-2-1")
    supplies = Supplies(12.0, 12.0, 3.6)
    op = {name: 0.0 for name in _names(bench)} | {"v(adc0)": 3.9, "v(n1)": 4.2}
    found = violations(bench, supplies, op)
    assert any("ADC pin of neuron 0" in v for v in found)
    assert any("MCP6004 input n1" in v for v in found)


def _names(bench) -> list[str]:
    from wphil.drivers.netlist_limits import probe_vectors
    return probe_vectors(bench)
