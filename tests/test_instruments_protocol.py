"""SCPI drivers against transcripts: every (sent, reply) pair used, in order, and nothing else."""

from __future__ import annotations

import pytest

from wphil.drivers.errors import ConfigError, InstrumentError
from wphil.drivers.instruments import Keysight34461A, RigolDP832
from wphil.drivers.instruments.keysight34461a import range_for
from wphil.drivers.instruments.transcript import expected_protocol

IDN_DMM = "Keysight Technologies,34461A,MY59000001,A.03.01-03.15-03.01-00.52-03-02"
IDN_PSU = "RIGOL TECHNOLOGIES,DP832,DP8C000001,00.01.16"


# -- the transcript player itself ---------------------------------------------------------

def test_transcript_fails_on_a_different_command() -> None:
    with pytest.raises(AssertionError, match="expected 'READ\\?', got 'MEAS:VOLT:DC\\?'"):
        with expected_protocol(Keysight34461A, [("READ?", "+1.0E+00")]) as dmm:
            _ = dmm.voltage_dc


def test_transcript_fails_when_an_exchange_is_left_unused() -> None:
    with pytest.raises(AssertionError, match="transcript not used up: 1 exchanges left"):
        with expected_protocol(Keysight34461A, [("*CLS", None), ("*RST", None)]) as dmm:
            dmm.clear()


# -- Keysight 34461A --------------------------------------------------------------------------

def test_dmm_identify_accepts_the_34461a_family_and_names_the_model() -> None:
    with expected_protocol(Keysight34461A, [("*IDN?", IDN_DMM)], resource_name="USB0::X") as dmm:
        assert dmm.identify() == IDN_DMM
        assert dmm.label == "DMM 34461A at USB0::X"


def test_dmm_identify_rejects_another_instrument() -> None:
    with expected_protocol(Keysight34461A, [("*IDN?", IDN_PSU)]) as dmm:
        with pytest.raises(InstrumentError, match="is 'RIGOL.*not a DMM of the 34460A/34461A"):
            dmm.identify()


def test_dmm_one_shot_measurement_parses_the_reading() -> None:
    with expected_protocol(Keysight34461A, [("MEAS:VOLT:DC?", "+1.02412345E+00")]) as dmm:
        assert dmm.voltage_dc == pytest.approx(1.02412345)


def test_dmm_configures_a_fixed_range_and_nplc_then_reads() -> None:
    with expected_protocol(Keysight34461A, [
        ("CONF:VOLT:DC 10", None), ("VOLT:DC:NPLC 10", None),
        ("READ?", "+5.12000000E-01"), ("READ?", "-3.00000000E-03"),
    ]) as dmm:
        dmm.configure_voltage_dc(10.0, 10)
        assert [dmm.read(), dmm.read()] == [pytest.approx(0.512), pytest.approx(-0.003)]


def test_dmm_settings_are_sent_and_read_back() -> None:
    with expected_protocol(Keysight34461A, [
        ("VOLT:DC:RANG 1", None), ("VOLT:DC:RANG?", "+1.00000000E+00"),
        ("VOLT:DC:RANG:AUTO 1", None), ("VOLT:DC:RANG:AUTO?", "1"),
        ("VOLT:DC:NPLC 0.2", None), ("VOLT:DC:NPLC?", "+2.00000000E-01"),
    ]) as dmm:
        dmm.voltage_range = 1
        assert dmm.voltage_range == 1.0
        dmm.autorange = True
        assert dmm.autorange is True
        dmm.nplc = 0.2
        assert dmm.nplc == 0.2


@pytest.mark.parametrize("setting,value,message", [
    ("nplc", 3, "nplc 3 PLC is not one of 0.02, 0.2, 1.0, 10.0, 100.0 PLC"),
    ("voltage_range", 5, "voltage_range 5 V is not one of 0.1, 1.0, 10.0, 100.0, 1000.0 V"),
    ("autorange", "yes", "autorange 'yes' is not one of True, False"),
])
def test_dmm_refuses_a_bad_setting_before_sending_anything(setting: str, value: object,
                                                           message: str) -> None:
    with expected_protocol(Keysight34461A, []) as dmm:
        with pytest.raises(ConfigError, match=message):
            setattr(dmm, setting, value)
        with pytest.raises(ConfigError):
            dmm.configure_voltage_dc(2.0)


def test_dmm_overload_reading_is_an_instrument_error() -> None:
    with expected_protocol(Keysight34461A, [("READ?", "+9.90000000E+37")]) as dmm:
        with pytest.raises(InstrumentError, match="input overload"):
            dmm.read()


def test_dmm_garbled_reply_names_command_and_reply() -> None:
    with expected_protocol(Keysight34461A, [("READ?", "hello")]) as dmm:
        with pytest.raises(InstrumentError, match="answered 'hello' to 'READ\\?', expected float"):
            dmm.read()


def test_error_queue_is_drained_and_every_entry_reported() -> None:
    with expected_protocol(Keysight34461A, [
        ("SYST:ERR?", '-113,"Undefined header"'), ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", '+0,"No error"'),
    ]) as dmm:
        with pytest.raises(InstrumentError, match='-113,"Undefined header"; -222,"Data out of'):
            dmm.check_errors()


def test_empty_error_queue_costs_one_query() -> None:
    with expected_protocol(Keysight34461A, [("SYST:ERR?", '+0,"No error"')]) as dmm:
        dmm.check_errors()


def test_range_for_picks_the_smallest_range_with_overrange() -> None:
    assert range_for(1.1) == 1.0 and range_for(2.56) == 10.0 and range_for(0.05) == 0.1
    with pytest.raises(InstrumentError):
        range_for(2000)


# -- Rigol DP832 ------------------------------------------------------------------------------

def test_psu_channel_settings_use_the_channel_in_every_command() -> None:
    with expected_protocol(RigolDP832, [
        (":OUTP:OVP:VAL CH2,5.500", None), (":OUTP:OVP CH2,ON", None),
        (":SOUR2:CURR 0.100", None), (":SOUR2:VOLT 5.000", None), (":OUTP CH2,ON", None),
        (":SOUR2:VOLT?", "5.000"), (":OUTP? CH2", "ON"), (":OUTP:OVP? CH2", "ON"),
        (":MEAS:VOLT? CH2", "4.9987"), (":MEAS:CURR? CH2", "0.0412"), (":OUTP:MODE? CH2", "CV"),
    ]) as psu:
        out = psu.output(2)
        out.ovp_level = 5.5
        out.ovp_enabled = True
        out.current_limit = 0.1
        out.voltage = 5
        out.enabled = True
        assert (out.voltage, out.enabled, out.ovp_enabled) == (5.0, True, True)
        assert (out.measured_voltage, out.measured_current, out.mode) == (4.9987, 0.0412, "CV")


@pytest.mark.parametrize("channel,setting,value,message", [
    (3, "voltage", 12.0, "channel 3: voltage 12.0 V is out of range: must be in 0..5 V"),
    (1, "voltage", 31.0, "channel 1: voltage 31.0 V is out of range: must be in 0..30 V"),
    (1, "current_limit", 3.5, "current_limit 3.5 A is out of range: must be in 0..3 A"),
    (3, "ovp_level", 6.0, "ovp_level 6.0 V is out of range: must be in 0.01..5.5 V"),
    (1, "enabled", "on", "enabled 'on' is not one of True, False"),
])
def test_psu_refuses_values_beyond_the_channel_rating_before_sending(
        channel: int, setting: str, value: object, message: str) -> None:
    with expected_protocol(RigolDP832, []) as psu:
        with pytest.raises(ConfigError, match=message):
            setattr(psu.output(channel), setting, value)


def test_psu_unknown_channel_and_unexpected_output_state() -> None:
    with expected_protocol(RigolDP832, [(":OUTP? CH1", "MAYBE")]) as psu:
        with pytest.raises(ConfigError, match="channel 4 does not exist; valid: 1, 2, 3"):
            psu.output(4)
        with pytest.raises(InstrumentError, match="answered 'MAYBE'.*expected one of ON, OFF"):
            _ = psu.output(1).enabled


def test_psu_error_queue_uses_the_rigol_query() -> None:
    with expected_protocol(RigolDP832, [(":SYST:ERR?", '-221,"Settings conflict"'),
                                        (":SYST:ERR?", '0,"No error"')]) as psu:
        assert psu.errors() == ['-221,"Settings conflict"']
