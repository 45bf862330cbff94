"""One wiring source: what is WRITTEN agrees. wiring.csv, parts.csv, the bring-up page, the
rp2040:// board configuration, the program `wphil dac-address` sends and the CONFIGURE frame
on the wire are parsed as text, never taken from the Python objects that made them, and held
to each other and to the Pico's pinout and the chips' pin tables written out here from the
datasheets (not imported from wphil)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from wphil.drivers import open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.hardware import hardware
from wphil.drivers.rp2040_board import Physics, node_config
from wphil.firmware import protocol as P
from wphil.lab.bringup_steps import bringup_block
from wphil.lab.dac_address import program_source

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ["xor-2-2-1", "parity4", "iris", "delayed-xor", "oscillator-2", "xor-2-2-1-ads1115"]
PAGE = ROOT / "docs" / "hardware" / "bring-up.md"

# Raspberry Pi Pico R3 pinout sheet: GPIO -> physical pin
PICO_PINOUT = {0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15,
               12: 16, 13: 17, 14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27,
               22: 29, 26: 31, 27: 32, 28: 34}
MCP4728_PIN = {"SCL": 2, "SDA": 3, "LDAC": 4}               # DS22187E / KiCad Analog_DAC:MCP4728
DG412_IN_PIN = {1: 1, 2: 16, 3: 9, 4: 8}                    # FN3282 / KiCad DG412xJ DIP-16
ADS1115_PIN = {"ADDR": 1, "AIN0": 4, "AIN1": 5, "AIN2": 6, "SDA": 9, "SCL": 10}  # KiCad ADS1115IDGS
PICO_VOH_MIN = 2.62          # RP2040 datasheet Table 632, IOVDD 3.3 V
MCP4728_VIH = 0.7 * 3.3      # DS22187E [M6], VDD = 3.3 V (the Pico's 3V3)
DG412_VINH = 2.4             # Intersil FN3282, VL = 5 V
PICO_PIN = re.compile(r"Pico pin (\d+) \(GP(\d+)")


def rows(name: str, table: str) -> list[dict[str, str]]:
    with (ROOT / "bench" / "schematic" / name / f"{table}.csv").open() as f:
        return list(csv.DictReader(f))


def wired_signals(name: str) -> dict[str, int]:
    """Signal -> GPIO, from the wiring table's 'Pico pin N (GPx ...)' cells, each pin checked
    against the Pico's pinout."""
    out: dict[str, int] = {}
    for row in rows(name, "wiring"):
        for cell in (row["source"], row["dest"]):
            m = PICO_PIN.search(cell)
            if not m:
                continue
            pin, gpio = int(m.group(1)), int(m.group(2))
            assert PICO_PINOUT[gpio] == pin, f"{name} step {row['step']}: GP{gpio} is pin {pin}?"
            signal = row["adc_pin"] or row["net"].removesuffix("_PICO")
            assert out.setdefault(signal, gpio) == gpio, f"{signal} on two GPIOs"
    gpios = list(out.values())
    assert len(set(gpios)) == len(gpios), f"{name}: a GPIO carries two signals: {out}"
    return out


def reaches(name: str, net: str) -> set[str]:
    """The part pins a net's rows name."""
    return {row["dest"] for row in rows(name, "wiring") if row["net"] == net}


@pytest.mark.parametrize("name", BENCHES)
def test_each_driven_gpio_reaches_the_right_part_pin(name: str) -> None:
    bench, pins = load_bench(name), wired_signals(name)
    for k in range(bench.dac.chips):
        assert f"DAC{k} LDAC ({MCP4728_PIN['LDAC']})" in reaches(name, f"LDAC{k}")
        for bus in ("SDA", "SCL"):
            assert any(r["source"] == f"DAC{k} {bus} ({MCP4728_PIN[bus]})"
                       and r["net"] == bus for r in rows(name, "wiring"))
    if bench.recurrent.reset_pin >= 0:
        wanted = {f"US{n // 4 + 1} IN{n % 4 + 1} ({DG412_IN_PIN[n % 4 + 1]})"
                  for n in range(bench.n_neurons)}
        assert wanted <= reaches(name, "RESET")
    adc = {f"ADC{ch}" for ch in bench.wiring.outputs + bench.wiring.hidden}
    if bench.adc.kind == "ads1115":            # on the I2C bus at 0x48; no Pico ADC pin
        assert not {s for s in pins if s.startswith("ADC")}
        for bus in ("SDA", "SCL"):
            assert any(r["source"] == f"ADS1 {bus} ({ADS1115_PIN[bus]})" and r["net"] == bus
                       for r in rows(name, "wiring"))
        assert any(r["source"] == f"ADS1 ADDR ({ADS1115_PIN['ADDR']})" and r["net"] == "GND"
                   for r in rows(name, "wiring"))
        read = {r["adc_pin"]: r["dest"] for r in rows(name, "wiring") if r["adc_pin"]}
        assert {a: read[a].split(" to ")[-1] for a in adc} == {
            a: f"ADS1 AIN{a[3:]} ({ADS1115_PIN['AIN' + a[3:]]})" for a in adc}
        return
    assert {s for s in pins if s.startswith("ADC")} == adc
    assert all(pins[a] == 26 + int(a[3:]) for a in adc)


def configure_as_sent(name: str, tmp_path: Path) -> dict:
    log = tmp_path / "wire.log"
    with open_device("upy://", name, wire_log=str(log)):
        pass
    line = next(ln for ln in log.read_text().splitlines() if " TX CONFIGURE " in ln)
    frames = P.FrameDecoder().feed(bytes.fromhex(line.split()[-1]))
    sent = json.loads(bytes(frames[0][3]))
    if isinstance(sent, list):      # the short form (PROTOCOL.md): values in CONFIG_ORDER
        sent = dict(zip(P.CONFIG_ORDER, sent))
        for name, order in (("dac", P.DAC_ORDER), ("adc", P.ADC_ORDER)):
            sent[name] = dict(zip(order, sent[name]))
    return sent


@pytest.mark.parametrize("name", ["xor-2-2-1", "delayed-xor", "xor-2-2-1-ads1115"])
def test_the_configure_frame_on_the_wire_names_the_wired_pins(name: str, tmp_path: Path) -> None:
    config, pins = configure_as_sent(name, tmp_path), wired_signals(name)
    assert (config["dac"]["sda"], config["dac"]["scl"]) == (pins["SDA"], pins["SCL"])
    assert config["reset_pin"] == pins.get("RESET", -1)
    read = {f"ADC{ch}" for ch in config["outputs"] + config["hidden"]}
    wired = {r["adc_pin"] for r in rows(name, "wiring") if r["adc_pin"]}
    assert read == wired
    if config["adc"]["kind"] == "rp2040":
        assert read == {s for s in pins if s.startswith("ADC")}
    else:          # the ADS1115 on the I2C bus: its full scale the +-4.096 V range [TI 7.3.3]
        assert (config["adc"]["kind"], config["adc"]["vref"], config["adc"]["bits"]) == (
            "ads1115", 4.096, 15)
        assert any(r["source"].startswith("ADS1 SDA") for r in rows(name, "wiring"))


@pytest.mark.parametrize("name", BENCHES)
def test_dac_address_and_the_emulated_pico_drive_the_wired_pins(name: str,
                                                                tmp_path: Path) -> None:
    bench, pins = load_bench(name), wired_signals(name)
    for k in range(bench.dac.chips):
        sent = program_source(bench, k, 0x60 + k, 0x60 if k else 0x61)
        args = re.search(r"program\(([\d, ]+)\)", sent).group(1).split(",")
        bus, sda, scl, _, _, _, ldac = (int(a) for a in args)
        assert (sda, scl, ldac) == (pins["SDA"], pins["SCL"], pins[f"LDAC{k}"])
    spec = {"uf2": "", "bootrom": "", "state": str(tmp_path), "board_seed": 1, "noise_seed": 2,
            "read_noise_volts": 0.0, "drift": 0.0}
    path = tmp_path / "node-config.json"              # as rp2040_board writes it for node
    path.write_text(json.dumps(node_config(spec, bench, Physics(bench, spec))))
    written = json.loads(path.read_text())
    assert [c["ldac_gpio"] for c in written["chips"]] == [pins[f"LDAC{k}"]
                                                         for k in range(bench.dac.chips)]
    assert (written["i2c"]["sda"], written["i2c"]["scl"]) == (pins["SDA"], pins["SCL"])


def page_blocks() -> dict[str, str]:
    text = PAGE.read_text()
    return dict(re.findall(r"<!-- bringup:([\w.-]+) -->(.*?)<!-- /bringup:\1 -->", text, re.S))


def test_the_bring_up_page_names_the_wired_pins() -> None:
    blocks = page_blocks()
    assert {"xor-2-2-1", "delayed-xor", "oscillator-2"} <= set(blocks)
    for name, block in blocks.items():
        named: dict[str, int] = {}
        for signal, gpio, pin in re.findall(r"(\w+) on GP(\d+) \(Pico pin (\d+)\)", block):
            assert PICO_PINOUT[int(gpio)] == int(pin), f"{name}: GP{gpio} is not pin {pin}"
            assert named.setdefault(signal, int(gpio)) == int(gpio)
        assert named == wired_signals(name), name


def test_the_bring_up_page_is_current() -> None:
    for name, block in page_blocks().items():
        assert f"<!-- bringup:{name} -->{block}<!-- /bringup:{name} -->" == \
            bringup_block(load_bench(name)), f"regenerate: python -m wphil.lab.bringup_steps {PAGE}"


@pytest.mark.parametrize("name", BENCHES)
def test_every_part_the_wiring_places_is_in_the_parts_list_with_its_quantity(name: str) -> None:
    placed: Counter[str] = Counter()
    for row in rows(name, "wiring"):
        if row["part"]:
            placed[row["part"]] += int(row["count"])
    listed = {p["ref"]: int(p["qty"]) for p in rows(name, "parts")}
    assert {ref: listed.get(ref) for ref in placed} == dict(placed)
    unplaced = set(listed) - set(placed)
    assert unplaced == {"BB", "J"}, unplaced         # breadboards and jumpers: no wiring row


@pytest.mark.parametrize("name", BENCHES)
def test_every_chip_in_the_wiring_has_decoupling_and_no_floating_inputs(name: str) -> None:
    wiring = rows(name, "wiring")
    chips = {m.group(1) for r in wiring
             for m in [re.match(r"((?:DAC|UA|US|UR|ADS|U)\d+) ", r["source"])] if m}
    caps = {m.group(1) for r in wiring for m in [re.match(r"C 0\.1uF at (\w+)", r["source"])] if m}
    assert chips - caps == set()
    for chip in {c for c in chips if c.startswith("UA")}:          # MCP6004: + inputs 3, 5, 10, 12
        assert {f"{chip} +IN{s} ({p})" for s, p in zip("ABCD", (3, 5, 10, 12))} <= \
            {r["dest"] for r in wiring}
    for chip in {c for c in chips if c.startswith("US")}:          # DG412: every IN driven or tied
        ins = {f"{chip} IN{k} ({p})" for k, p in DG412_IN_PIN.items()}
        tied = {r["dest"] for r in wiring if r["net"] == "RESET"} | {
            r["source"] for r in wiring if r["net"] == "GND"}
        assert ins <= tied


def resistor(name: str, ref: str) -> float:
    value = next(p["value"] for p in rows(name, "parts") if p["ref"] == ref)
    return float(value[:-1]) * 1e3 if value.endswith("k") else float(value)


def test_a_driven_ldac_and_reset_line_stay_above_their_input_high_threshold() -> None:
    series, down = resistor("xor-2-2-1", "Rldac"), resistor("xor-2-2-1", "Rpd")
    assert down == 10e3 and PICO_VOH_MIN * down / (down + series) >= MCP4728_VIH
    series, down = resistor("delayed-xor", "Rrs"), resistor("delayed-xor", "Rrpd")
    assert PICO_VOH_MIN * down / (down + series) >= DG412_VINH
    vl = [r for r in rows("delayed-xor", "wiring") if r["source"].startswith("US1 VL")]
    assert vl and all(r["net"] == "VL5" for r in vl)                # VL at 5 V, not 3V3


@pytest.mark.parametrize(("overrides", "message"), [
    ({"dac": {"ldac_gpio": 13}}, "GP15 carries both LDAC2 and RESET"),
    ({"dac": {"sda": 6, "scl": 7}}, "not I2C0's SDA/SCL"),
    ({"dac": {"ldac_gpio": 22}}, "LDAC1 on GP23, which the Pico does not bring out"),
])
def test_a_bench_whose_pins_collide_is_refused_in_one_line(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_bench("delayed-xor", overrides=overrides)


def test_the_description_is_what_the_committed_tables_were_made_from() -> None:
    for name in BENCHES:
        assert hardware(load_bench(name)).gpio_of() == wired_signals(name)


def test_an_ads1115_bench_off_its_4v_range_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"\[adc\] vref: an ADS1115 bench") as err:
        load_bench("xor-2-2-1-ads1115", overrides={"adc": {"vref": 2.048}})
    assert "\n" not in str(err.value)


def test_the_ads1115_variant_reads_vmid_at_mid_scale_on_spice_as_wired() -> None:
    """VMID from 3V3 x 165k / 265k (wiring.csv) in the netlist too: near mid-scale."""
    from wphil.drivers.circuit import CircuitParts
    from wphil.drivers.netlist_tran import vmid_volts

    bench = load_bench("xor-2-2-1-ads1115", "ideal")
    wiring = {r["source"]: r for r in rows("xor-2-2-1-ads1115", "wiring")}
    assert wiring["Pico pin 36 (3V3)"]["dest"] == "R 100k (VMID top)"
    assert "R 165k (VMID bottom)" in wiring
    vmid = vmid_volts(bench, CircuitParts.draw(bench, 1))
    assert vmid == pytest.approx(3.3 * 165 / 265, abs=0.005)    # 1% resistors, buffer offset
    assert abs(vmid - 4.096 / 2) < 0.01


@pytest.mark.parametrize("name", ["xor-2-2-1", "delayed-xor"])
def test_calibrate_sends_the_dmm_leads_to_the_wired_dac_pin(name: str) -> None:
    from wphil.cli.lab import dmm_lead_pin

    for row in rows(name, "wiring"):
        if row["dac_channel"]:
            assert dmm_lead_pin(int(row["dac_channel"])).startswith(row["source"] + ","), row


Z_PIN = re.compile(r"U\d+ Z \(6\)")           # AD633 DIP-8 pin 6 is Z (datasheet Fig. 1)


@pytest.mark.parametrize("name", BENCHES)
def test_every_trimmer_in_the_wiring_is_on_its_pins_and_in_the_parts_list(name: str) -> None:
    """A bench with [circuit] offset_trim_volts > 0 has one trimmer per neuron: track ends
    (pins 1, 3 of a Bourns 3296) on 3V3 and GND, the wiper (pin 2) through the parts list's
    68k into ZTn, which takes VMID through its 10k and reaches exactly one AD633 Z pin; no
    neuron's first Z stays on VMID. A bench without has none, and every first Z on VMID."""
    bench, wiring = load_bench(name), rows(name, "wiring")
    parts = {p["ref"]: p for p in rows(name, "parts")}
    trimmed = bench.circuit.offset_trim_volts > 0
    pins: dict[int, dict[str, str]] = {}
    for r in wiring:
        if m := re.fullmatch(r"RV(\d+) \w+ \((\d)\)", r["source"]):
            pins.setdefault(int(m.group(1)) - 1, {})[m.group(2)] = r["net"]
    assert sorted(pins) == (list(range(bench.n_neurons)) if trimmed else [])
    assert int(parts["RV"]["qty"]) == len(pins) if trimmed else "RV" not in parts
    z_on_vmid = [r for r in wiring if r["net"] == "VMID" and Z_PIN.fullmatch(r["dest"])]
    assert len(z_on_vmid) == (0 if trimmed else bench.n_neurons)
    if not trimmed:
        return
    assert "3296" in parts["RV"]["value"] and parts["RV"]["value"].startswith("10k")
    series, to_vmid = parts["Rtrim"]["value"], parts["Rtrimv"]["value"]
    for n, on in pins.items():
        assert on == {"1": "3V3", "2": f"TW{n}", "3": "GND"}, n
        into = {(r["source"], r["dest"]) for r in wiring if r["net"] == f"ZT{n}"}
        assert (f"R {series} (trim series)", f"TW{n} to ZT{n}") in into
        assert (f"R {to_vmid} (trim to VMID)", f"VMID bus to ZT{n}") in into
        assert len([d for _, d in into if Z_PIN.fullmatch(d)]) == 1


def test_the_trimmer_resistors_reach_the_trim_range_the_bench_file_models() -> None:
    """Z = VMID + (wiper - VMID) x 10k / (10k + 68k): with the wiper at either end of its
    track (3V3, GND) and VMID = ADC_VREF / 2 = 1.65 V, the trim must cover the bench's
    [circuit] trim_range_volts on both sides."""
    bench = load_bench("xor-2-2-1")
    series, to_vmid = resistor("xor-2-2-1", "Rtrim"), resistor("xor-2-2-1", "Rtrimv")
    vmid = 3.3 / 2
    reach = min(vmid, 3.3 - vmid) * to_vmid / (to_vmid + series)
    assert reach == pytest.approx(0.2115, abs=1e-3)
    assert reach >= bench.circuit.trim_range_volts


def test_the_bring_up_page_trims_every_neuron_before_the_zero_weight_check() -> None:
    block = page_blocks()["xor-2-2-1"]
    bench = load_bench("xor-2-2-1")
    c = bench.circuit
    steps = re.findall(r"^\d+\. (.*)$", block, re.M)
    trim = next(i for i, s in enumerate(steps) if s.startswith("Trim each neuron"))
    check = next(i for i, s in enumerate(steps) if s.startswith("`wphil check"))
    assert trim < check and "after the trim step" in steps[check]
    assert re.findall(r"RV(\d+) for", steps[trim]) == [str(n + 1) for n in range(bench.n_neurons)]
    # the tolerance: offset_trim_volts at the summing node times Rf / Rin, at the output
    assert f"within +-{c.offset_trim_volts * c.rf_ohms / c.rin_ohms * 1e3:.0f} mV" in steps[trim]
    for name in ("iris", "parity4", "xor-2-2-1-ads1115"):
        assert "RV1" not in bringup_block(load_bench(name))


@pytest.mark.parametrize(("name", "circuit", "reach"), [
    ("xor-2-2-1", {"trim_range_volts": 0.25}, "0.212"),          # 1.65 V x 10k / 78k
    # VMID at 2.055 V (3V3 x 165k / 265k): 1.245 V x 10k / 78k towards 3V3
    ("xor-2-2-1-ads1115", {"offset_trim_volts": 0.001, "trim_range_volts": 0.2}, "0.160"),
])
def test_a_trim_range_the_trimmer_cannot_reach_is_refused_in_one_line(
        name: str, circuit: dict, reach: str) -> None:
    with pytest.raises(ConfigError, match=rf"trim_range_volts.*reaches only \+-{reach} V") as err:
        load_bench(name, overrides={"circuit": circuit})
    assert "\n" not in str(err.value)
