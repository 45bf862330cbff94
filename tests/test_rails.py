"""The bench's supply rails: limits enforced before any command, outputs off on every failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from wphil.drivers import load_bench
from wphil.drivers.errors import ConfigError, InstrumentError
from wphil.drivers.instruments import RigolDP832
from wphil.drivers.instruments.rails import BenchPower, Rail, bench_rails
from wphil.drivers.instruments.transcript import expected_protocol

ROOT = Path(__file__).resolve().parents[1]
RAILS = bench_rails(load_bench("xor-2-2-1"))     # VA+ on CH1, VA- on CH2: 12 V, 0.1 A, max 12.5 V
NO_ERROR = (":SYST:ERR?", '0,"No error"')


def configure(ch: int) -> list[tuple[str, None]]:
    return [(f":OUTP:OVP:VAL CH{ch},12.500", None), (f":OUTP:OVP CH{ch},ON", None),
            (f":SOUR{ch}:CURR 0.100", None), (f":SOUR{ch}:VOLT 12.000", None)]


def status(ch: int, mode: str = "CV", state: str = "ON") -> list[tuple[str, str]]:
    return [(f":OUTP? CH{ch}", state), (f":SOUR{ch}:VOLT?", "12.000"), (f":SOUR{ch}:CURR?", "0.100"),
            (f":MEAS:VOLT? CH{ch}", "11.9990"), (f":MEAS:CURR? CH{ch}", "0.0400"),
            (f":OUTP:MODE? CH{ch}", mode)]


OFF = [(":OUTP CH2,OFF", None), (":OUTP CH1,OFF", None)]      # reverse order


def test_bench_file_rails_are_read_in_order() -> None:
    assert [(r.name, r.channel, r.volts, r.current_limit, r.max_volts) for r in RAILS] == [
        ("VA+", 1, 12.0, 0.1, 12.5), ("VA-", 2, 12.0, 0.1, 12.5)]


def test_power_on_arms_ovp_sets_limits_checks_errors_then_switches_on_in_order() -> None:
    with expected_protocol(RigolDP832, [
        ("*CLS", None), *configure(1), *configure(2), NO_ERROR,
        (":OUTP CH1,ON", None), (":OUTP CH2,ON", None), *status(1), *status(2), NO_ERROR,
    ]) as psu:
        report = BenchPower(psu, RAILS).on()
    assert [(s.rail.name, s.enabled, s.measured_volts, s.mode) for s in report] == [
        ("VA+", True, 11.999, "CV"), ("VA-", True, 11.999, "CV")]


def test_a_rail_in_current_limit_switches_every_rail_off() -> None:
    with expected_protocol(RigolDP832, [
        ("*CLS", None), *configure(1), *configure(2), NO_ERROR,
        (":OUTP CH1,ON", None), (":OUTP CH2,ON", None), *status(1), *status(2, mode="CC"), *OFF,
    ]) as psu:
        with pytest.raises(InstrumentError, match="rail VA- .CH2. is in current limit at 0.04 A"):
            BenchPower(psu, RAILS).on()


def test_an_error_while_configuring_switches_off_before_anything_is_on() -> None:
    with expected_protocol(RigolDP832, [
        ("*CLS", None), *configure(1), *configure(2),
        (":SYST:ERR?", '-221,"Settings conflict"'), NO_ERROR, *OFF,
    ]) as psu:
        with pytest.raises(InstrumentError, match='-221,"Settings conflict"'):
            BenchPower(psu, RAILS).on()


def test_powered_block_switches_off_on_leaving_even_by_an_exception() -> None:
    with expected_protocol(RigolDP832, [
        ("*CLS", None), *configure(1), *configure(2), NO_ERROR,
        (":OUTP CH1,ON", None), (":OUTP CH2,ON", None), *status(1), *status(2), NO_ERROR, *OFF,
    ]) as psu:
        with pytest.raises(KeyboardInterrupt):
            with BenchPower(psu, RAILS).powered():
                raise KeyboardInterrupt


@pytest.mark.parametrize("rail,message", [
    (Rail("5V", 3, 5.2, 0.1, 5.5), "5.2 V / 0.1 A exceeds DP832 CH3's rating of 5 V / 3 A"),
    (Rail("12V", 1, 12.0, 0.1, 11.0), "12.0 V is above the rail's max_volts 11.0 V"),
    (Rail("5V", 4, 5.0, 0.1, 5.5), "supply channel 4 does not exist on a DP832"),
    (Rail("5V", 3, 4.0, 0.1, 6.0), "max_volts 6.0 V is outside CH3's over-voltage protection"),
])
def test_a_rail_beyond_its_limits_is_refused_before_any_command(rail: Rail, message: str) -> None:
    with expected_protocol(RigolDP832, []) as psu:      # an empty transcript: nothing may be sent
        with pytest.raises(ConfigError, match=message):
            BenchPower(psu, [rail])


@pytest.mark.parametrize("old,new,message", [
    ("volts = [12.0, 12.0] ", "volts = [12.0, 13.0] ", "[power] volts: rail VA-: 13.0 V is above "
     "its max_volts 12.5 V"),
    ("channels = [1, 2] ", "channels = [1] ", "[power]: needs one entry per item in every list: "
     "names has 2, channels has 1"),
    ('names = ["VA+", "VA-"]', 'names = ["VA+", "VA+"]', "[power] names: has a repeated entry"),
    ("current_limits = [0.1, 0.1]", "current_limits = [0.1, 0.0]",
     "[power] current_limits: 0.0 is out of range: must be in 0.001..10.0"),
])
def test_bad_power_table_names_file_and_key(tmp_path: Path, old: str, new: str,
                                            message: str) -> None:
    text = (ROOT / "bench" / "xor-2-2-1.toml").read_text()
    assert old in text
    path = tmp_path / "bench.toml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as err:
        bench_rails(load_bench(str(path)))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_a_bench_without_rails_says_so() -> None:
    abstract = load_bench("parity4", overrides={"circuit": {"kind": ""}})   # no circuit, no rails
    with pytest.raises(ConfigError, match=r"parity4 \(built-in\): \[power\] lists no rails"):
        bench_rails(abstract)


def test_a_circuit_without_a_power_table_gets_its_rails_from_the_circuit() -> None:
    rails = bench_rails(load_bench("parity4"))                  # 25 AD633s on +-12 V
    assert [(r.name, r.volts, r.current_limit) for r in rails] == [("VA+", 12.0, 0.2),
                                                                   ("VA-", 12.0, 0.2)]


# -- the power sequence (wphil.lab.power) on the pyvisa-sim supply ----------------------------
SIM_PSU = "USB0::0x1AB1::0x0E11::DP8C000001::INSTR@sim"


class _Dacs:
    """Opens a mock:// bench device and records, at CONFIGURE and at safe(), whether the
    supply's rails were on at that moment (read back from the simulated supply)."""

    def __init__(self, psu: RigolDP832, fail: bool = False) -> None:
        self.psu, self.fail, self.events = psu, fail, []

    def rails_on(self) -> list[bool]:
        return [self.psu.output(r.channel).enabled for r in RAILS]

    def __call__(self):  # noqa: ANN204
        from contextlib import contextmanager

        from wphil.drivers import open_device
        from wphil.drivers.errors import DeviceError

        @contextmanager
        def opened():  # noqa: ANN202
            if self.fail:
                raise DeviceError("auto: no Pico found")
            self.events.append(("configure", self.rails_on()))
            with open_device("mock://", "xor-2-2-1") as dev:
                safe = dev.safe
                dev.safe = lambda: (self.events.append(("safe", self.rails_on())), safe())[1]
                yield dev
        return opened()


def test_power_up_brings_the_rails_up_before_the_dacs_are_configured() -> None:
    from contextlib import closing

    from wphil.drivers.instruments import open_instrument
    from wphil.lab.power import power_up

    with closing(open_instrument(RigolDP832, SIM_PSU)) as psu:
        dacs = _Dacs(psu)
        assert dacs.rails_on() == [False, False]
        status = power_up(BenchPower(psu, RAILS), dacs)
    assert dacs.events == [("configure", [True, True]), ("safe", [True, True])]
    assert all(s.enabled for s in status)


def test_power_down_sets_the_dacs_safe_while_the_rails_are_still_up() -> None:
    from contextlib import closing

    from wphil.drivers.instruments import open_instrument
    from wphil.lab.power import power_down

    with closing(open_instrument(RigolDP832, SIM_PSU)) as psu:
        power = BenchPower(psu, RAILS)
        power.on()
        dacs = _Dacs(psu)
        status = power_down(power, dacs)
    assert dacs.events == [("configure", [True, True]), ("safe", [True, True])]
    assert not any(s.enabled for s in status)


def test_power_down_leaves_the_rails_on_when_the_dacs_cannot_be_set_safe() -> None:
    from contextlib import closing

    from wphil.drivers.errors import DeviceError
    from wphil.drivers.instruments import open_instrument
    from wphil.lab.power import power_down

    with closing(open_instrument(RigolDP832, SIM_PSU)) as psu:
        power = BenchPower(psu, RAILS)
        power.on()
        dacs = _Dacs(psu, fail=True)
        with pytest.raises(DeviceError, match="rails left on"):
            power_down(power, dacs)
        assert dacs.rails_on() == [True, True]
