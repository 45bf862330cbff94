"""Rigol DP832-class programmable supply: per channel voltage, current limit, output, OVP, readback.

Reached over USB-TMC (`USB0::0x1AB1::0x0E11::SERIAL::INSTR`), LAN VXI-11
(`TCPIP0::HOST::INSTR`) or the raw SCPI socket on port 5555. The DP832 has three isolated
outputs: CH1 and CH2 30 V / 3 A, CH3 5 V / 3 A (the DP832A is the same). The limits below
are the instrument's; the bench's own rail limits are stricter and are checked first by
`wphil.drivers.instruments.rails`.
"""

from __future__ import annotations

from wphil.drivers.errors import ConfigError
from wphil.drivers.instruments.scpi import Channel, Instrument, Transport

#: channel -> (max volts, max amps) the DP832 can be set to
RATINGS: dict[int, tuple[float, float]] = {1: (30.0, 3.0), 2: (30.0, 3.0), 3: (5.0, 3.0)}
#: channel -> (min, max) over-voltage protection level (V)
OVP_RANGES: dict[int, tuple[float, float]] = {1: (0.01, 33.0), 2: (0.01, 33.0), 3: (0.01, 5.5)}
ON_OFF = {True: "ON", False: "OFF"}


class DP832Output(Channel):
    """One output. Regulation `mode` is CV (voltage), CC (current limit reached) or UR."""

    voltage = Channel.control(":SOUR{ch}:VOLT?", ":SOUR{ch}:VOLT %.3f", "Set voltage", "V",
                              limits="voltage_range")
    current_limit = Channel.control(":SOUR{ch}:CURR?", ":SOUR{ch}:CURR %.3f",
                                    "Current limit (constant-current setting)", "A",
                                    limits="current_range")
    enabled = Channel.control(":OUTP? CH{ch}", ":OUTP CH{ch},%s", "Output on", map_values=ON_OFF)
    ovp_level = Channel.control(":OUTP:OVP:VAL? CH{ch}", ":OUTP:OVP:VAL CH{ch},%.3f",
                                "Over-voltage protection level", "V", limits="ovp_range")
    ovp_enabled = Channel.control(":OUTP:OVP? CH{ch}", ":OUTP:OVP CH{ch},%s",
                                  "Over-voltage protection armed", map_values=ON_OFF)
    measured_voltage = Channel.measurement(":MEAS:VOLT? CH{ch}", "Voltage at the terminals", "V")
    measured_current = Channel.measurement(":MEAS:CURR? CH{ch}", "Current delivered", "A")
    mode = Channel.measurement(":OUTP:MODE? CH{ch}", "Regulation mode: CV, CC or UR", cast=str)

    def __init__(self, parent: RigolDP832, id: int) -> None:
        super().__init__(parent, id)
        volts, amps = RATINGS[id]
        self.voltage_range = (0.0, volts)
        self.current_range = (0.0, amps)
        self.ovp_range = OVP_RANGES[id]


class RigolDP832(Instrument):
    """A three-output bench supply of the Rigol DP832 class."""

    MODELS = ("DP832", "DP831", "DP821", "DP811")
    KIND = "power supply"
    ERROR_QUERY = ":SYST:ERR?"
    TIMEOUT_MS = 3000

    def __init__(self, transport: Transport, resource_name: str = "") -> None:
        super().__init__(transport, resource_name)
        self.outputs = {ch: DP832Output(self, ch) for ch in RATINGS}

    def output(self, channel: int) -> DP832Output:
        """Output `channel` (1..3); another number is a `ConfigError`."""
        if channel not in self.outputs:
            raise ConfigError(f"{self.label}: channel {channel} does not exist; "
                              f"valid: {', '.join(map(str, self.outputs))}")
        return self.outputs[channel]
