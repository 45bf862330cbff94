"""The drivers through pyvisa: pyvisa-sim's shipped instruments (@sim), and the simulated
34461A on a localhost socket (pyvisa-py) whose readings follow the mock device's DAC."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing

import pytest

from wphil.drivers import load_bench, open_device
from wphil.drivers.errors import ConfigError, InstrumentError
from wphil.drivers.instruments import Keysight34461A, RigolDP832, open_instrument
from wphil.drivers.instruments.probe import ProbeDmm
from wphil.drivers.instruments.sim34461a import Simulated34461A

SIM_DMM = "USB0::0x2A8D::0x1301::MY59000001::INSTR@sim"
SIM_PSU = "TCPIP0::psu.sim::5555::SOCKET@sim"


def test_sim_dmm_identifies_configures_and_reads() -> None:
    with closing(open_instrument(Keysight34461A, SIM_DMM)) as dmm:
        assert dmm.label == f"DMM 34461A at {SIM_DMM}"
        dmm.configure_voltage_dc(10.0, 10)
        assert dmm.nplc == 10.0 and dmm.read() == pytest.approx(1.02398765)
        dmm.nplc = 0.2
        assert dmm.nplc == 0.2
        dmm.check_errors()


def test_sim_psu_remembers_settings_per_channel() -> None:
    with closing(open_instrument(RigolDP832, SIM_PSU)) as psu:
        one, two = psu.output(1), psu.output(2)
        one.voltage, one.current_limit, one.enabled = 3.3, 0.25, True
        two.voltage = 12.0
        assert (one.voltage, one.current_limit, one.enabled) == (3.3, 0.25, True)
        assert (two.voltage, two.enabled) == (12.0, False)
        assert one.mode == "CV" and one.measured_current == pytest.approx(0.042)
        psu.check_errors()


def test_sim_dmm_that_rejects_a_command_reports_its_error_queue() -> None:
    with closing(open_instrument(Keysight34461A, "TCPIP0::dmm-error.sim::5025::SOCKET@sim")) as dmm:
        dmm.configure_voltage_dc(10.0, 10)
        with pytest.raises(InstrumentError, match='reported an error: -113,"Undefined header"'):
            dmm.check_errors()


def test_silent_instrument_times_out_with_the_command_named() -> None:
    with pytest.raises(InstrumentError, match="did not answer '\\*IDN\\?'.*Timeout"):
        open_instrument(Keysight34461A, "TCPIP0::silent.sim::5025::SOCKET@sim", timeout_ms=100)


def test_wrong_instrument_is_refused_by_its_idn() -> None:
    with pytest.raises(InstrumentError, match="is 'RIGOL TECHNOLOGIES,DP832.*not a DMM"):
        open_instrument(Keysight34461A, SIM_PSU)


@pytest.mark.parametrize("resource,error,message", [
    ("nonsense", ConfigError, "bad VISA resource name 'nonsense'"),
    ("TCPIP0::h::5025::SOCKETS", ConfigError, "bad VISA resource name"),
    ("TCPIP0::h::5025::SOCKET@gpib", ConfigError, "unknown VISA backend @gpib.*valid: @py, @ivi"),
    ("TCPIP0::nothere.sim::5025::SOCKET@sim", InstrumentError, "no DMM at .*simulated instruments"),
])
def test_bad_resource_names_fail_before_any_io(resource: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        open_instrument(Keysight34461A, resource)


def test_refused_connection_is_an_instrument_error() -> None:
    with socket.socket() as s:          # a port that was free a moment ago: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InstrumentError, match="Connection refused"):
        open_instrument(Keysight34461A, f"TCPIP0::127.0.0.1::{port}::SOCKET@py")


# -- the simulated 34461A behind the probe ----------------------------------------------------

def test_simulated_meter_parses_long_short_and_optional_scpi_forms() -> None:
    meter = Simulated34461A(lambda: 1.5)
    assert meter.handle("configure:voltage:dc 1") is None
    assert meter.handle(":SENS:VOLT:RANG?") == "+1.00000000E+00"
    assert meter.handle("VOLTage:DC:RANGe:AUTO?") == "0"
    assert meter.handle("READ?") == "+9.90000000E+37"            # 1.5 V over the 1 V range
    assert float(meter.handle("MEAS:VOLT:DC?")) == pytest.approx(1.5, abs=1e-4)   # autorange
    assert meter.handle("CONFIG:VOLT; *IDN?").startswith("Keysight Technologies,34461A")
    assert meter.handle("SYST:ERR?") == '-113,"Undefined header"'
    assert meter.handle("SYSTem:ERRor:NEXT?") == '+0,"No error"'


@pytest.fixture
def probe() -> Iterator[ProbeDmm]:
    bench = load_bench("xor-2-2-1", "harsh")
    with open_device("mock://", bench) as dev, ProbeDmm(dev) as probe:
        yield probe


def test_probe_dmm_reads_the_mock_dac_voltage_through_pyvisa_py(probe: ProbeDmm) -> None:
    dev = probe.device
    with closing(open_instrument(Keysight34461A, probe.resource)) as dmm:
        assert dmm.identify().startswith("Keysight Technologies,34461A,WPHIL-SIM")
        dmm.configure_voltage_dc(10.0, 10)
        assert abs(dmm.read()) < 1e-4                      # leads not on anything yet
        probe.connect(5)
        for code in (10, 128, 250):
            dev.set_channel(5, code)
            assert dmm.read() == pytest.approx(dev.probe_volts(5), abs=1e-4)
        probe.connect(0)                                   # harsh: weight 0's channel is stuck
        dev.set_channel(0, 200)
        assert dmm.voltage_dc == pytest.approx(dev.network.channel_volts(0, 0), abs=1e-4)
        dmm.check_errors()


def test_probe_refuses_a_channel_the_bench_does_not_have(probe: ProbeDmm) -> None:
    with pytest.raises(ValueError, match="DAC channel 12 does not exist"):
        probe.connect(12)
