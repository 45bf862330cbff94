"""The bench tier: `pytest --device URL` runs these against a board (a Pico on /dev/ttyACM0,
or the emulated one, rp2040://); without --device they are skipped. They drive the device
only through the Device interface, as the CLI does."""

from __future__ import annotations

import numpy as np
import pytest

import wphil
from wphil.drivers import load_bench, open_device

pytestmark = [pytest.mark.hardware, pytest.mark.timeout(900)]


@pytest.fixture
def device(hardware_url: str):
    bench = load_bench("xor-2-2-1")
    with open_device(hardware_url, bench) as dev:
        yield bench, dev


def test_the_board_answers_with_every_converter_of_the_bench(device) -> None:
    bench, dev = device
    info = dev.info()
    assert (info.dac_channels, info.adc_channels) == (bench.dac_channels, bench.adc.channels)
    assert info.details["dac_addresses"] == [0x60 + i for i in range(bench.dac.chips)]


def test_outputs_move_with_the_weights_and_stay_inside_the_adc_range(device) -> None:
    bench, dev = device
    inputs = np.array([[0, 4095], [4095, 0]])
    low = np.full((1, bench.n_weights), 1024)
    high = np.full((1, bench.n_weights), 3072)
    adc = dev.evaluate(inputs, np.vstack([low, high]), hidden=True)
    assert adc.shape == (2, 2, 3)
    assert adc.min() >= 0 and adc.max() < 2 ** bench.adc.bits
    assert np.abs(adc[0].astype(int) - adc[1]).max() > 100


@pytest.mark.parametrize("onchip", [False, True], ids=["host-driven", "onchip"])
def test_xor_trains_to_100_percent(hardware_url: str, onchip: bool, tmp_path) -> None:
    run = wphil.train(hardware_url, "xor-2-2-1", onchip=onchip, epochs=1000, out=tmp_path / "run")
    for _ in run:
        pass
    assert run.summary["stop_reason"] == "converged" and run.summary["accuracy"] == 1.0
