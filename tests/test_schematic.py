"""`wphil schematic`: the drawing, parts list and wiring table of each shipped bench."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tests.test_cli import wphil
from wphil.drivers.bench_files import load_bench
from wphil.lab.build import parts_list, wiring_table

BENCHES = ["xor-2-2-1", "parity4", "iris", "delayed-xor", "oscillator-2", "xor-2-2-1-ads1115"]


@pytest.mark.parametrize("name", BENCHES)
def test_every_dac_channel_and_adc_pin_of_the_bench_is_wired_exactly_once(name: str) -> None:
    bench = load_bench(name)
    wires = wiring_table(bench)
    channels = Counter(w.dac_channel for w in wires if w.dac_channel)
    used = list(bench.wiring.weights) + list(bench.wiring.inputs) + list(bench.fixed_channels)
    assert channels == Counter(str(ch) for ch in used)
    adc = Counter(w.adc_pin for w in wires if w.adc_pin)
    assert adc == Counter(f"ADC{ch}" for ch in list(bench.wiring.outputs) + list(bench.wiring.hidden))


def test_wires_come_in_build_order_supplies_first_adc_last() -> None:
    stages = [w.stage for w in wiring_table(load_bench("xor-2-2-1"))]
    order = ["power", "i2c", "dacs", "vmid", "reference", "inputs", "multipliers", "neurons"]
    firsts = [stages.index(s) for s in order]
    assert firsts == sorted(firsts) and stages[0] == "power" and stages[-1] == "adc"
    assert [w.step for w in wiring_table(load_bench("xor-2-2-1"))] == list(range(1, len(stages) + 1))


def test_parts_list_counts_follow_the_topology() -> None:
    bench = load_bench("iris")                       # 27 weights, 6 neurons
    parts = {p.part: p for p in parts_list(bench)}
    assert parts["AD633JNZ"].qty == 27 and parts["MCP6004-I/P"].qty == 2
    assert parts["1N4148"].qty == 2 * 3 * 6 and parts["MCP4728 breakout"].qty == 8
    assert {p.ref for p in parts_list(bench)} >= {"Cf"}
    # the recurrent benches' limiter has no filter capacitor: no "0pF, qty 0" row
    refs = [p.ref for p in parts_list(load_bench("delayed-xor"))]
    assert "Cf" not in refs and all(p.qty > 0 for p in parts_list(load_bench("delayed-xor")))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["xor-2-2-1", "delayed-xor"])
def test_schematic_command_writes_drawing_parts_and_wiring(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    proc = wphil("schematic", "--bench", name, "--out", str(out), check=True)
    assert f"{name}:" in proc.stdout
    png = (out / "schematic.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    svg = (out / "schematic.svg").read_text()
    assert "GP26" in svg and f"U{load_bench(name).n_weights}" in svg
    for sheet in ("sheet-power", "sheet-layer1", "sheet-opamps"):
        assert (out / f"{sheet}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", sheet
    assert (out / f"{name}.net").read_text().startswith("(export")
    assert (out / "erc.txt").read_text().startswith(f"ERC of {name}: 0 errors")
    assert "## Breadboard placement" in (out / "build.md").read_text()
    with (out / "wiring.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(wiring_table(load_bench(name)))
    assert "| AD633JNZ |" in (out / "parts.md").read_text()


@pytest.mark.parametrize("name", ["parity4", "iris"])
@pytest.mark.slow
def test_schematic_tables_alone_for_the_larger_benches(tmp_path: Path, name: str) -> None:
    wphil("schematic", "--bench", name, "--out", str(tmp_path), "--no-drawing", "--no-kicad",
          check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bom.csv", "build.md", "parts.csv", "parts.md", "placement.csv", "wiring.csv", "wiring.md"]


@pytest.mark.parametrize("name", BENCHES)
def test_committed_build_tables_are_what_the_generator_writes(tmp_path: Path, name: str) -> None:
    from wphil.lab import write_tables
    from wphil.lab.build_package import write_build_package

    write_tables(load_bench(name), tmp_path)
    write_build_package(load_bench(name), tmp_path)
    committed = Path(__file__).resolve().parents[1] / "bench" / "schematic" / name
    for table in ("parts.md", "wiring.md", "parts.csv", "wiring.csv", "bom.csv", "placement.csv",
                  "build.md"):
        assert (tmp_path / table).read_text() == (committed / table).read_text(), table


def test_a_recurrent_bench_gets_an_integrator_and_a_reset_switch_per_neuron() -> None:
    bench = load_bench("delayed-xor")                # 3 neurons, reset on GP15
    wires = wiring_table(bench)
    caps = [w for w in wires if w.source.startswith("C 100nF")]
    resets = [w for w in wires if w.net == "RESET"]          # series R to each IN, pull-down
    assert len(caps) == 3 and len(resets) == 3 + 1
    assert [w.source for w in wires if w.net == "RESET_PICO"] == ["Pico pin 20 (GP15)"]
    # two inverting stages per neuron: the weight DAC goes to X1, the reference to X2
    assert all(" X1 " in w.dest for w in wires if w.dac_channel in {"0", "7"})
    parts = {p.part: p for p in parts_list(bench)}
    assert parts["MCP6004-I/P"].qty == 2 and parts["DG412DJ"].qty == 1      # 3 + 1 + 3 sections
