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


def test_the_reset_switch_check_passes_on_the_simulated_and_firmware_boards() -> None:
    from wphil.lab.checks import check_reset_switch

    bench = load_bench("delayed-xor")
    for url in ("mock://", "upy://"):
        with open_device(url, bench) as dev:
            check = check_reset_switch(dev, bench)
        assert check.ok, (url, check.detail)
        assert "driven: ADC0 +0.9" in check.detail and "10 us after reset" in check.detail


class _StuckSwitch:
    """A device whose reset switch never closes: each sequence starts where the last ended."""

    def __init__(self, dev) -> None:  # noqa: ANN001
        self.dev = dev

    def evaluate_sequence(self, inputs, codes, hidden=False, step_us=None):  # noqa: ANN001, ANN201
        return self.dev.evaluate_sequence(inputs, codes, hidden=hidden, step_us=step_us,
                                          resume=self.dev.queries > 0)


def test_a_reset_switch_that_does_not_close_fails_the_check() -> None:
    from wphil.lab.checks import check_reset_switch

    bench = load_bench("delayed-xor")
    with open_device("mock://", bench) as dev:
        check = check_reset_switch(_StuckSwitch(dev), bench)
    assert not check.ok and "10 us after reset: ADC0 +0.9" in check.detail


def test_check_runs_the_reset_switch_check_on_a_recurrent_bench() -> None:
    lines = wphil("check", "--device", "mock://", "--bench", "oscillator-2",
                  check=True).stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok   DAC chips", "ok   zero-weight readouts",
                                                      "ok   reset switch"]


def test_one_threshold_in_check_and_on_the_bring_up_page() -> None:
    from pathlib import Path

    from wphil.lab.bringup import zero_weight_bound

    page = (Path(__file__).resolve().parents[1] / "docs" / "hardware" / "bring-up.md").read_text()
    bound = zero_weight_bound(load_bench("xor-2-2-1"))
    assert f"+-{bound:.2f} V of VMID" in page and f"±{bound:.2f} V" in page
    line = wphil("check", "--device", "mock://", check=True).stdout.splitlines()[1]
    assert f"(allowed +-{bound:.2f} V)" in line
