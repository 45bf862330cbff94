"""The firmware's timing-critical sequences, run by its own pin calls (firmware modules under
CPython with a fake `machine`) against the datasheet-only pin-level models of
wphil.drivers.chipmodels: MCP4728 address commands (DS22187E Fig. 5-11 / 5-6 notes 2a-2c)
and EEPROM busy time, the ADS1115 conversion wait (SBAS444E), the DG412 reset hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wphil.drivers import load_bench
from wphil.drivers.chipmodels import Board
from wphil.drivers.chipmodels.ads1115 import Ads1115
from wphil.drivers.chipmodels.dg412 import ResetSwitch, min_reset_s
from wphil.drivers.chipmodels.mcp4728 import Mcp4728
from wphil.drivers.rp2040_pico import rp2040js_home


def node_env() -> dict[str, str]:
    """The environment for a node script that imports drivers/rp2040js/*.mjs: rp2040js from
    wherever rp2040:// finds it (the harness folder, or `wphil emulator install`'s cache)."""
    return {**os.environ, "WPHIL_RP2040JS": str(rp2040js_home())}

SDA, SCL, LDAC0 = 4, 5, 6


def bench_of_chips(n: int = 3, eeprom_write_s: float = 50e-3):
    """A board with `n` factory-fresh MCP4728s (all at 0x60), chip k's LDAC on GP6+k with
    its pull-down, and the firmware's dac_address module loaded against it."""
    board = Board()
    bus = board.i2c_bus(SDA, SCL)
    chips = [bus.attach(Mcp4728(board.net(LDAC0 + k), eeprom_write_s=eeprom_write_s,
                                name=f"chip{k}")) for k in range(n)]
    return board, chips, board.load_firmware("dac_address")


def old_write_address(fw, ldac_pin: int, old: int, new: int) -> list[bool]:
    """The sequence the firmware sent before: LDAC dropped while SCL was high during the
    8th clock of byte 2 (breaks note 2a)."""
    bus = fw._Bus(SDA, SCL)
    ldac = fw.machine.Pin(ldac_pin, fw.machine.Pin.OUT, value=1)

    def write(byte: int, drop: bool = False) -> bool:
        for i in range(7, -1, -1):
            bus.sda.value((byte >> i) & 1)
            bus.scl.value(1)
            if drop and i == 0:
                ldac.value(0)
            bus.scl.value(0)
        bus.sda.value(1)
        bus.scl.value(1)
        ack = bus.sda.value() == 0
        bus.scl.value(0)
        return ack

    bus.start()
    acks = [write(old << 1), write(0x61 | (old - 0x60) << 2, True),
            write(0x62 | (new - 0x60) << 2), write(0x63 | (new - 0x60) << 2)]
    bus.stop()
    ldac.init(fw.machine.Pin.IN)
    return acks


def write_address_with(fw, ldac_pin: int, new: int, ldac_at) -> list[bool]:
    """Figure 5-11's four bytes for a chip at 0x60, LDAC set by `ldac_at(byte, clock,
    ldac)`, called in the low phase after each clock (clock 0: before the byte)."""
    bus = fw._Bus(SDA, SCL)
    ldac = fw.machine.Pin(ldac_pin, fw.machine.Pin.OUT, value=1)
    acks = []
    bus.start()
    for n, byte in enumerate((0xC0, 0x61, 0x62 | (new - 0x60) << 2, 0x63 | (new - 0x60) << 2)):
        ldac_at(n, 0, ldac)
        for i in range(7, -1, -1):
            bus.sda.value((byte >> i) & 1)
            bus._clock()
            ldac_at(n, 8 - i, ldac)
        bus.sda.value(1)
        bus._high()
        acks.append(bus.sda.value() == 0)
        bus.scl.value(0)
        ldac_at(n, 9, ldac)
    bus.stop()
    ldac.init(fw.machine.Pin.IN)
    return acks


def test_old_sequence_ldac_falling_while_scl_high_is_refused_by_the_model() -> None:
    board, chips, fw = bench_of_chips()
    acks = old_write_address(fw, LDAC0 + 1, 0x60, 0x61)
    assert acks[:2] == [True, True] and acks[2] is False          # byte 3 NACKed (note 2c)
    assert [c.address for c in chips] == [0x60] * 3 and chips[1].eeprom_writes == 0
    assert "SCL high" in chips[1].refusals[0] and "note 2a" in chips[1].refusals[0]


def test_firmware_sequence_is_accepted_and_waits_out_the_eeprom_write() -> None:
    board, chips, fw = bench_of_chips(eeprom_write_s=50e-3)
    result = fw.program(0, SDA, SCL, 100_000, 0x60, 0x61, LDAC0 + 1)
    assert result["found"] == [0x60, 0x61] and result["busy_ms"] >= 50
    assert [c.address for c in chips] == [0x60, 0x61, 0x60]
    assert chips[1].eeprom_writes == 1 and chips[1].eeprom_bits == 1 and chips[1].ready
    assert chips[1].busy_until >= 50e-3                       # it was busy for the maximum
    assert not any(c.violations for c in chips)               # nothing sent while busy
    assert chips[0].refusals and chips[2].refusals            # LDAC low: not them (note 2a)


def test_busy_then_ready_is_read_from_the_rdy_bsy_bit() -> None:
    board, chips, fw = bench_of_chips(n=1, eeprom_write_s=25e-3)
    acks = fw.write_address(SDA, SCL, LDAC0, 0x60, 0x63)
    assert acks == [True] * 4 and not chips[0].ready
    i2c = fw._i2c(0, SDA, SCL, 100_000)
    waited = fw.wait_ready(i2c, 0x63)
    assert chips[0].ready and waited >= 25
    assert fw.read_address(SDA, SCL, LDAC0) == (3, 3)


def test_a_write_before_rdy_bsy_rises_is_caught() -> None:
    board, chips, fw = bench_of_chips(n=1)
    fw.write_address(SDA, SCL, LDAC0, 0x60, 0x61)
    board.time.sleep_ms(25)                                   # the typical time only
    fw.write_address(SDA, SCL, LDAC0, 0x61, 0x62)
    assert any("EEPROM write is in progress" in v for v in chips[0].violations)
    assert chips[0].address == 0x61                           # the second one was ignored


def test_a_chip_that_never_gets_ready_stops_the_programming() -> None:
    board, chips, fw = bench_of_chips(n=1, eeprom_write_s=10.0)
    with pytest.raises(OSError, match="still busy"):
        fw.program(0, SDA, SCL, 100_000, 0x60, 0x61, LDAC0)


@pytest.mark.parametrize(("case", "ldac_at", "why"), [
    ("low from the start", lambda n, k, pin: pin.value(0) if (n, k) == (0, 0) else None,
     "note 2a"),
    ("one clock late", lambda n, k, pin: pin.value(0) if (n, k) == (1, 9) else None,
     "had not fallen"),
    ("one clock early", lambda n, k, pin: pin.value(0) if (n, k) == (1, 7) else None,
     "byte 2 clock 7"),
    ("rises before byte 3's 9th clock",
     lambda n, k, pin: pin.value(0) if (n, k) == (1, 8) else pin.value(1) if (n, k) == (2, 8)
     else None, "rose"),
    ("rises during byte 3", lambda n, k, pin: pin.value(0) if (n, k) == (1, 8)
     else pin.value(1) if (n, k) == (2, 4) else None, "rose"),
])
def test_ldac_placements_the_datasheet_forbids_get_byte_3_nacked(case, ldac_at, why) -> None:
    board, chips, fw = bench_of_chips(n=1)
    acks = write_address_with(fw, LDAC0, 0x65, ldac_at)
    assert acks[:2] == [True, True] and acks[2] is False, case
    assert chips[0].address == 0x60 and chips[0].eeprom_writes == 0
    assert why in chips[0].refusals[0], chips[0].refusals


def test_the_right_placement_in_the_same_harness_is_accepted() -> None:
    board, chips, fw = bench_of_chips(n=1)
    acks = write_address_with(fw, LDAC0, 0x65,
                              lambda n, k, pin: pin.value(0) if (n, k) == (1, 8) else None)
    assert acks == [True] * 4 and chips[0].address == 0x65


def test_verify_reads_each_chips_address_bits_by_its_ldac() -> None:
    board, chips, fw = bench_of_chips()
    chips[1].register_bits = chips[1].eeprom_bits = 1
    chips[2].register_bits = chips[2].eeprom_bits = 5                 # a wrong address
    assert fw.verify(SDA, SCL, [LDAC0, LDAC0 + 1, LDAC0 + 2, LDAC0 + 3]) == [
        (0, 0), (1, 1), (5, 5), None]                                 # GP9: no chip there
    assert not any(c.violations for c in chips)                      # <= 400 kHz (5.4.4)


def test_a_clock_over_400_khz_during_the_address_command_is_caught(monkeypatch) -> None:
    board, chips, fw = bench_of_chips(n=1)
    monkeypatch.setattr(fw, "_HALF_US", 0.5)                          # 1 MHz
    fw.write_address(SDA, SCL, LDAC0, 0x60, 0x61)
    assert any("400 kHz" in v for v in chips[0].violations)


def ads_board(codes=(1000, 2000, 3000, 4000)):
    board = Board()
    bus = board.i2c_bus(SDA, SCL)
    adc = bus.attach(Ads1115())
    adc.inputs = list(codes)
    fw = board.load_firmware("ads1115")
    i2c = board.machine.I2C(0, sda=board.machine.Pin(SDA), scl=board.machine.Pin(SCL),
                            freq=400_000)
    return board, adc, fw.ADS1115(i2c, 0x48, full_scale=4.096, rate=860)


def test_ads1115_driver_polls_os_until_the_conversion_ends() -> None:
    board, adc, driver = ads_board()
    assert [driver.read(ch) for ch in range(4)] == [1000, 2000, 3000, 4000]
    assert adc.conversions == 4 and adc.violations == []


def test_ads1115_reading_after_only_the_nominal_data_period_is_caught() -> None:
    board, adc, driver = ads_board()
    driver.wait_us = 1_000_000 // 860         # sleep 1/DR, then read without polling OS
    driver._wait_conversion = lambda: board.time.sleep_us(driver.wait_us)
    driver.read(0)
    assert adc.violations and "before the conversion ended" in adc.violations[0]


def reset_rig(c_farads=100e-9):
    board = Board()
    lsb = 3.3 / 4096
    switch = ResetSwitch(board.net(15), board.clock, c_farads, v0=1.65, lsb=lsb)
    stubs = {"rp2040_adc": type("M", (), {"Rp2040Adc": object}),
             "stdio": type("M", (), {"PicoStdio": object})}
    return board, switch, board.load_firmware("board", stubs), lsb


def test_dg412_reset_hold_of_the_shipped_recurrent_benches_empties_cint() -> None:
    for name in ("delayed-xor", "oscillator-2"):
        bench = load_bench(name)
        c = bench.circuit.int_farads or bench.recurrent.tau_us[0] * 1e-6 / bench.circuit.int_ohms
        board, switch, fw, lsb = reset_rig(c)
        fw.reset_circuit(bench.recurrent.reset_pin, bench.recurrent.reset_us)
        assert switch.residuals and switch.violations == [], name
        assert bench.recurrent.reset_us * 1e-6 >= min_reset_s(c, 1.65, lsb)


def test_a_bench_whose_reset_hold_is_too_short_is_refused_in_one_line(tmp_path) -> None:
    from wphil.drivers import ConfigError

    text = (Path(__file__).parents[1] / "bench" / "delayed-xor.toml").read_text()
    path = tmp_path / "short-reset.toml"
    path.write_text(text.replace("reset_us = 5000", "reset_us = 20"))
    with pytest.raises(ConfigError, match=r"reset_us: 20 us leaves charge .* at least 5\d us"):
        load_bench(str(path))


def test_dg412_reset_hold_too_short_is_caught() -> None:
    board, switch, fw, lsb = reset_rig(100e-9)
    need = min_reset_s(100e-9, 1.65, lsb)
    assert 50e-6 < need < 70e-6                    # 0.25 us + 70 ohm * 100 nF * ln(4096)
    fw.reset_circuit(15, int(need * 1e6) - 5)
    assert switch.violations and "hold at least" in switch.violations[0]
    fw.reset_circuit(15, int(need * 1e6) + 1)
    assert len(switch.violations) == 1


@pytest.mark.skipif(shutil.which("node") is None or not (
    rp2040js_home() / "node_modules" / "rp2040js" / "package.json").is_file(),
    reason="node and rp2040js are needed")
def test_the_emulated_ads1115_of_rp2040_converts_for_1_1_over_dr_and_shows_os() -> None:
    script = Path(__file__).parent / "support" / "ads1115_timing.mjs"
    out = subprocess.run(["node", str(script), "100", "1250", "1350"], capture_output=True,
                         text=True, timeout=60, check=True, env=node_env()).stdout
    (os_early, code_early, logs_early), (os_late, _, _), (os_done, code, logs) = json.loads(out)
    assert (os_early, os_late, os_done) == (0, 0, 1)        # 25 us + 1.1/860 s = 1304 us
    assert code_early == 0 and "before the conversion ended" in logs_early[0]
    assert code == 1001 and logs == []                      # AIN1
