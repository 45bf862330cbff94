"""`wphil check`: the bring-up self-checks pass on a good bench and name what is wrong."""

from __future__ import annotations

import pytest

from tests.test_cli import wphil
from wphil.drivers import open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.instruments.rails import Rail, RailStatus
from wphil.lab.checks import check_dac_addresses, check_rails, check_zero_weight_readouts


@pytest.mark.slow
def test_check_passes_on_the_simulated_xor_bench() -> None:
    proc = wphil("check", "--device", "mock://", check=True)
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok   DAC chips", "ok   zero-weight readouts"]
    assert "ADC0" in lines[1] and "ADC2" in lines[1]


def test_firmware_scan_shows_every_dac_chip_at_its_address() -> None:
    bench = load_bench("xor-2-2-1")
    with open_device("upy://", bench) as dev:
        check = check_dac_addresses(dev, bench)
    assert check.ok and check.detail == "answering: 0x60 0x61 0x62"


def test_a_neuron_stuck_at_its_limit_fails_the_zero_weight_check() -> None:
    # the output neuron's bias DAC channel stuck at full scale: a net of +4 V, not an offset
    bench = load_bench("xor-2-2-1", overrides={"sim": {"stuck_dac_channels": [8],
                                                      "stuck_code": 4095}})
    with open_device("mock://", bench) as dev:
        check = check_zero_weight_readouts(dev, bench)
    assert not check.ok and check.detail.startswith("ADC0 +0.9")


def test_rails_must_be_on_and_near_the_bench_volts() -> None:
    rail = Rail("VA+", 1, 12.0, 0.1, 12.5)
    good = RailStatus(rail, True, 12.0, 0.1, 11.98, 0.04, "CV")
    sagging = RailStatus(rail, True, 12.0, 0.1, 10.9, 0.1, "CC")
    off = RailStatus(rail, False, 12.0, 0.1, 0.0, 0.0, "CV")
    assert check_rails([good]).ok
    assert not check_rails([good, sagging]).ok and "10.90 V (want 12)" in check_rails([sagging]).detail
    assert not check_rails([off]).ok
