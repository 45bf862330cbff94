"""Bench files: the built-ins load in every profile; every bad key is named with its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from wphil.drivers.bench import describe_keys
from wphil.drivers.bench_files import builtin_benches, load_bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
XOR_TEXT = (ROOT / "drivers" / "benches" / "xor-2-2-1.toml").read_text()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", ["xor-2-2-1", "parity4", "iris"])
def test_builtin_benches_load_in_every_profile(name: str, profile: str) -> None:
    bench = load_bench(name, profile)
    assert bench.name == name and bench.profile == profile
    assert bench.limits.min_code <= bench.safe_code <= bench.max_code


def test_user_copies_under_bench_folder_match_the_shipped_benches() -> None:
    for name in builtin_benches():
        shipped = (ROOT / "drivers" / "benches" / f"{name}.toml").read_text()
        assert (ROOT / "bench" / f"{name}.toml").read_text() == shipped, name


def test_profiles_change_what_they_promise() -> None:
    ideal, harsh = load_bench("xor-2-2-1", "ideal"), load_bench("xor-2-2-1", "harsh")
    assert (ideal.dac.bits, ideal.adc.bits, ideal.sim.read_noise_volts) == (16, 16, 0.0)
    assert ideal.sim.weight_gain_mismatch == 0 and ideal.sim.stuck_dac_channels == ()
    assert harsh.dac.bits == 8 and harsh.sim.dac_gain_mismatch == pytest.approx(0.10)
    assert harsh.sim.read_noise_volts == pytest.approx(2 * 3.3 / 4096)
    assert harsh.sim.stuck_dac_channels == (harsh.wiring.weights[0],)


def test_a_loaded_bench_round_trips_through_its_tables(tmp_path: Path) -> None:
    import tomli_w
    bench = load_bench("iris", "harsh")
    again = load_bench(write(tmp_path, tomli_w.dumps(bench.to_dict())))
    assert again.to_dict() == bench.to_dict()


@pytest.mark.parametrize("old,new,message", [
    ("bits = 12\nvref = 2.048", "bits = 40\nvref = 2.048",
     "[dac] bits: 40 is out of range: must be in 4..16"),
    ("chips = 3 ", "chips = 3\nspeed = 9 ", "[dac] speed: unknown key; valid keys: kind, chips"),
    ('kind = "rp2040"', 'kind = "esp32"', "[adc] kind: 'esp32' is not one of rp2040, ads1115"),
    ("layers = [2, 2, 1]", "layers = [2, 3, 1]",
     "[wiring] weights: has 9 channels, topology [2, 3, 1] needs 13"),
    ("inputs = [9, 10]", "inputs = [9, 12]", "DAC channel 12 does not exist"),
    ("inputs = [9, 10]", "inputs = [9, 8]", "a DAC channel is used twice"),
    ("vsat = 0.97 ", 'vsat = "high" ', "[topology] vsat: must be a number in 0.05..10.0, got 'high'"),
    ("[timing]", "[timeing]", "[timeing]: unknown table"),
    ('name = "xor-2-2-1"', "", "[bench] name: missing required key"),
    ("safe_code = -1", "safe_code = 5000", "[limits] safe_code: must be in min_code..max_code"),
])
def test_bad_bench_file_error_names_file_key_and_allowed_values(tmp_path: Path, old: str,
                                                               new: str, message: str) -> None:
    assert old in XOR_TEXT
    path = write(tmp_path, XOR_TEXT.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_bench(path)
    assert str(err.value).startswith(path + ": ")
    assert message in str(err.value)


def test_malformed_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_bench(write(tmp_path, "[bench\nname = 1"))
    with pytest.raises(ConfigError,
                       match="bench file not found: nope.toml .built-in benches: .*iris.*xor-2-2-1"):
        load_bench("nope.toml")
    with pytest.raises(ConfigError, match="unknown profile 'rough'"):
        load_bench("xor-2-2-1", "rough")


def test_describe_keys_lists_every_table() -> None:
    text = describe_keys()
    for table in ("[topology]", "[wiring]", "[sim]", "read_noise_volts"):
        assert table in text
