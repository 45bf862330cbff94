"""The [circuit] table and fixed channels: validated like every key, held by host and firmware."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from wphil.drivers import open_device
from wphil.drivers.bench_files import builtin_benches, load_bench
from wphil.drivers.circuit import settle_us, weight_per_volt
from wphil.drivers.errors import ConfigError, FirmwareError
from wphil.firmware import protocol as P

ROOT = Path(__file__).resolve().parents[1]
XOR_TEXT = (ROOT / "drivers" / "benches" / "xor-2-2-1.toml").read_text()


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return load_bench(str(path))


@pytest.mark.parametrize("name", ["xor-2-2-1", "parity4", "iris"])
def test_shipped_benches_are_ad633_circuits_with_a_held_reference(name: str) -> None:
    bench = load_bench(name)
    ref = bench.circuit.ref_channel
    assert bench.circuit.kind == "ad633" and bench.fixed_channels == {ref: 2048}
    assert bench.calibration.weight_per_volt == pytest.approx(weight_per_volt(bench), rel=1e-3)
    assert ref not in bench.wiring.weights + bench.wiring.inputs
    assert (ROOT / "bench" / f"{name}.toml").read_text() == (
        ROOT / "drivers" / "benches" / f"{name}.toml").read_text()


def test_settle_time_and_rails_follow_from_the_circuit(tmp_path: Path) -> None:
    bench = load_bench("parity4")            # no [power], no settle_us: both from [circuit]
    assert bench.timing.settle_us == settle_us(bench) >= 8 * 50      # > 8 Rf Cf
    assert bench.power.volts == (12.0, 12.0) and bench.power.current_limits == (0.2, 0.2)
    slower = load_text(tmp_path, XOR_TEXT.replace("cf_farads = 100e-12", "cf_farads = 200e-12"))
    assert slower.timing.settle_us > load_bench("xor-2-2-1").timing.settle_us
    explicit = load_text(tmp_path, XOR_TEXT.replace("[timing]\n", "[timing]\nsettle_us = 123\n"))
    assert explicit.timing.settle_us == 123


def test_profiles_that_change_dac_bits_keep_the_reference_volts() -> None:
    for profile, code in (("ideal", 2048 * 16), ("harsh", 128)):
        assert load_bench("xor-2-2-1", profile).fixed_channels == {11: code}


@pytest.mark.parametrize("old,new,message", [
    ('fixed = [{channel = 11,', 'fixed = [{channel = 8,', "[wiring]: a DAC channel is used twice"),
    ('code = 2048, name', 'code = 5000, name', "[wiring] fixed[0] code: 5000 is out"),
    ('code = 2048, name', 'code = 4095, name', "[calibration] weight_zero_volts = 1.024 disagrees "
     "with the circuit, which gives 2.047"),
    ('{channel = 11, code', '{chanel = 11, code', "[wiring] fixed[0] chanel: unknown key"),
    ("ref_channel = 11", "ref_channel = 10", "[circuit] ref_channel: 10 is not a [wiring] fixed"),
    ("weight_per_volt = 3.909", "weight_per_volt = 4.5", "[calibration] weight_per_volt = 4.5 "
     "disagrees with the circuit, which gives 3.909"),
    ("bias_volts = 1.024", "bias_volts = 1.0", "[topology] bias_volts = 1.0 disagrees"),
    ("volts = [12.0, 12.0]", "volts = [5.0, 5.0]", "[power] volts: rail VA+ at 5.0 V cannot"),
    ('kind = "ad633"', 'kind = "lm13700"', "[circuit] kind: 'lm13700' is not one of , ad633"),
    ("rf_ohms = 499000.0", "rf_ohms = 0.5", "[circuit] rf_ohms: 0.5 is out of range"),
])
def test_bad_circuit_keys_name_file_key_and_allowed(tmp_path: Path, old: str, new: str,
                                                    message: str) -> None:
    assert old in XOR_TEXT
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, XOR_TEXT.replace(old, new))
    assert str(tmp_path / "bench.toml") in str(err.value) and message in str(err.value)


def test_host_refuses_to_drive_a_fixed_channel_and_safe_keeps_it() -> None:
    bench = load_bench("xor-2-2-1", overrides={"limits": {"safe_code": 1000}})
    with open_device("mock://", bench) as dev:
        with pytest.raises(ConfigError, match="DAC channel 11 is fixed at code 2048"):
            dev.set_channel(11, 1000)
        dev.set_channel(10, 3000)
        dev.safe()
        assert dev.probe_volts(11) == pytest.approx(1.024, abs=0.01)
        assert dev.probe_volts(10) == pytest.approx(0.5, abs=0.01)


def test_firmware_holds_the_fixed_channel_and_refuses_to_change_it() -> None:
    bench = load_bench("xor-2-2-1", overrides={"limits": {"safe_code": 1000}})
    with open_device("upy://?noise=0", bench) as dev:
        assert dev.status()["dac_codes"][11] == 2048        # held from CONFIGURE on
        with pytest.raises(FirmwareError) as err:
            dev.request(P.SET_CHANNEL, struct.pack("<BH", 11, 1000))
        assert err.value.code == P.ERR_RANGE and "fixed" in err.value.message
        dev.set_codes(np.full(9, 3000))
        dev.safe()
        codes = dev.status()["dac_codes"]
        assert codes[11] == 2048 and codes[:11] == [1000] * 11


def test_every_builtin_bench_is_a_circuit_recurrent_ones_with_integrators() -> None:
    benches = [load_bench(name) for name in builtin_benches()]
    assert all(b.circuit.kind == "ad633" for b in benches)
    recurrent = [b for b in benches if b.is_recurrent]
    assert len(recurrent) >= 2 and all(b.circuit.int_farads > 0 for b in recurrent)
    assert all(b.circuit.int_farads == 0 for b in benches if not b.is_recurrent)


def test_neuron_offset_is_added_to_the_net_before_saturation() -> None:
    from wphil.drivers.analog import AnalogNetwork

    bench = load_bench("xor-2-2-1", "ideal", overrides={"sim": {"neuron_offset_volts": 0.4}})
    net = AnalogNetwork(bench)
    offsets, vsat = np.array(net.board.neuron_offset), bench.topology.vsat
    assert np.std(offsets) > 0.05                   # drawn per neuron from the key's spread
    zero = np.full((1, 9), bench.safe_code)          # every weight 0: the net is the offset
    hidden, out = net.forward_volts(zero, np.full((1, 2), bench.safe_code))
    expected = vsat * np.tanh(offsets / vsat)
    assert hidden[0, 0] == pytest.approx(expected[:2], abs=1e-4)
    assert out[0, 0] == pytest.approx(expected[2:], abs=1e-4)
