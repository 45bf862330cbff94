"""Non-ideality profiles: named edits of a bench's converters and [sim] physics.

`default` is the bench as written. `ideal` removes every non-ideality and uses 16-bit
converters (the setting where measured and analytic gradients must agree). `harsh` is a
bad breadboard: 8-bit DACs, 10% gain mismatch, 2 LSB read noise, one stuck weight channel.
`heldout` is the default bench plus physics that no wphil model has, to measure how
model-based rules (pat, twin, offline, bp) fare where the physics is not their model:
every weight x signal product compresses cubically (a multiplier nonlinearity,
`multiplier_cubic`) and the neurons saturate asymmetrically, at +vsat (1 + a) and
-vsat (1 - a) (`rail_asymmetry`), not as tanh. It exists in the numpy physics (mock://)
only; upy:// refuses it.
`worst` draws every datasheet-bounded part error uniformly over +-its datasheet maximum
([sim] part_spread = "uniform"; WORST_SIM, WORST_CIRCUIT; sources in
docs/hardware/datasheets.md): the parts of a board that passed every datasheet limit,
anywhere inside them.
"""

from __future__ import annotations

import copy
from typing import Any

from wphil.drivers.errors import ConfigError

PROFILES = ("ideal", "default", "harsh", "heldout", "worst")
#: the held-out physics of profile `heldout`
HELDOUT_SIM = {"multiplier_cubic": 0.15, "rail_asymmetry": 0.3}

_IDEAL_SIM = {
    "dac_gain_mismatch": 0.0, "dac_offset_volts": 0.0, "dac_inl_lsb": 0.0,
    "weight_gain_mismatch": 0.0, "weight_offset": 0.0, "vsat_mismatch": 0.0,
    "output_offset_volts": 0.0, "neuron_offset_volts": 0.0, "read_noise_volts": 0.0,
    "dnl_spike_lsb": 0.0,
    "stuck_dac_channels": [], "drift_volts_per_kquery": 0.0,
}

#: RP2040 ADC: total noise of an ADC of ENOB bits over 0..3.3 V, FS / (2^ENOB sqrt 12)
#: (https://pip.raspberrypi.com RP2040 datasheet: ENOB 8.7 typ, no minimum given; an
#: independent measurement found 7.9..8.9 bits, so the worst profile takes 7.9)
WORST_ADC_ENOB = 7.9
#: profile worst, [sim]: each a datasheet maximum, drawn uniformly over +-max
WORST_SIM = {
    "part_spread": "uniform",
    "dac_gain_mismatch": 0.0125,     # MCP4728 DS22187E p.4: gain error +-1.25 %FSR max
    "dac_offset_volts": 0.020,       # p.4: offset error 20 mV max (code 000h)
    "dac_inl_lsb": 13.0,             # p.4: INL +-13 LSB max (Note 5)
    "dac_vref_mismatch": 0.041 / 2.048,   # p.4: internal VREF 2.007 .. 2.089 V
    "dnl_spike_lsb": 5.0,            # RP2040-E11: DNL up to +8.9 LSB measured: a code ~10 wide
}
#: profile worst, [circuit]: each a datasheet maximum, drawn uniformly over +-max
WORST_CIRCUIT = {
    "multiplier_gain_sigma": 0.02,           # AD633 p.1: total error within 2% of FS
    "multiplier_input_offset_volts": 0.030,  # AD633 X/Y input offset 30 mV max (unconfirmed)
    "multiplier_output_offset_volts": 0.050,  # AD633J output offset 50 mV max (unconfirmed)
    "opamp_offset_volts": 0.0045,            # MCP6004 VOS +-4.5 mV max (unconfirmed; DS21733)
    "multiplier_x_nonlinearity": 0.01,       # AD633 X nonlinearity 1% FS max (unconfirmed)
    "multiplier_y_nonlinearity": 0.004,      # AD633 Y nonlinearity 0.4% FS max (unconfirmed)
}
#: sigma of a uniform distribution over +-1
_UNIFORM_SIGMA = 1 / 3 ** 0.5


def apply_profile(data: dict[str, Any], profile: str) -> dict[str, Any]:
    """Return a copy of raw bench tables with `profile` applied."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    data = copy.deepcopy(data)
    if profile == "default":
        return data
    sim = data.setdefault("sim", {})
    if profile == "ideal":
        _set_dac_bits(data, 16)
        data.setdefault("adc", {})["bits"] = 16
        sim.update(_IDEAL_SIM)
        return data
    if profile == "heldout":
        sim.update(HELDOUT_SIM)
        return data
    if profile == "worst":
        _worst(data, sim)
        return data
    adc = data.get("adc", {})
    adc_lsb_volts = adc.get("vref", 3.3) / (1 << adc.get("bits", 12))
    _set_dac_bits(data, 8)
    sim.update({
        "dac_gain_mismatch": 0.10, "weight_gain_mismatch": 0.10,
        "read_noise_volts": 2 * adc_lsb_volts,
        "stuck_dac_channels": [data.get("wiring", {}).get("weights", [0])[0]],
        "stuck_code": 0,
    })
    return data


def _set_dac_bits(data: dict[str, Any], bits: int) -> None:
    """Change the DAC resolution; fixed channels keep their volts (their codes rescale)."""
    dac = data.setdefault("dac", {})
    old = dac.get("bits", 12)
    dac["bits"] = bits
    for fixed in data.get("wiring", {}).get("fixed", []):
        if isinstance(fixed, dict) and isinstance(fixed.get("code"), int):
            fixed["code"] = round(fixed["code"] * 2.0 ** (bits - old))


def _worst(data: dict[str, Any], sim: dict[str, Any]) -> None:
    """Datasheet maxima for the converters and the circuit's parts; the abstract model's
    per-weight and per-neuron spreads (plain mock://, upy://, rp2040://) scaled by how much
    the parts that make them grow (drivers/circuit_model.py gives the mapping; checked
    against bench/fit_circuit.py's Monte Carlo on worst parts in tests/test_worst.py)."""
    from wphil.drivers.bench_tables import Circuit, Sim
    from wphil.drivers.circuit import AD633_SCALE_VOLTS

    circuit = data.setdefault("circuit", {}) if "circuit" in data else {}
    typ = {k: circuit.get(k, getattr(Circuit, k)) for k in WORST_CIRCUIT}
    worst = {k: v * _UNIFORM_SIGMA for k, v in WORST_CIRCUIT.items()}   # as sigmas

    def base(key: str) -> float:
        return float(sim.get(key, getattr(Sim, key)))

    x_ratio = worst["multiplier_input_offset_volts"] / typ["multiplier_input_offset_volts"]
    trim = float(circuit.get("offset_trim_volts", 0.0))
    if trim > 0:
        # trimmed at bring-up: what is left is the builder's residual (not a part figure)
        # and the bias multipliers' X offsets times the bias, which grow with the X offset
        gain = AD633_SCALE_VOLTS * data.get("calibration", {}).get("weight_per_volt", 0.0)
        residual = gain * trim * _UNIFORM_SIGMA
        x_part = max(base("neuron_offset_volts") ** 2 - residual ** 2, 0.0) ** 0.5
        sim["neuron_offset_volts"] = (residual ** 2 + (x_ratio * x_part) ** 2) ** 0.5
    else:
        # untrimmed: the multipliers' output offsets times the stage gain
        sim["neuron_offset_volts"] = base("neuron_offset_volts") * (
            worst["multiplier_output_offset_volts"] / typ["multiplier_output_offset_volts"])
    # weight offset: the X input offset times weight_per_volt
    sim["weight_offset"] = base("weight_offset") * x_ratio
    # weight gain: scale factor, and each nonlinearity's small-signal slope 1 - 3 nl
    extra = (worst["multiplier_gain_sigma"] ** 2 - typ["multiplier_gain_sigma"] ** 2
             + (3 * worst["multiplier_x_nonlinearity"]) ** 2
             + (3 * worst["multiplier_y_nonlinearity"]) ** 2)
    sim["weight_gain_mismatch"] = (base("weight_gain_mismatch") ** 2 + extra) ** 0.5
    # ADC offset: VMID's divider and two op-amp offsets (VMID buffer, neuron)
    vos_extra = 2 * (worst["opamp_offset_volts"] ** 2 - typ["opamp_offset_volts"] ** 2)
    sim["output_offset_volts"] = (base("output_offset_volts") ** 2 + vos_extra) ** 0.5
    adc = data.get("adc", {})
    sim["read_noise_volts"] = adc.get("vref", 3.3) / (2 ** WORST_ADC_ENOB * 12 ** 0.5)
    sim.update(WORST_SIM)
    if "circuit" in data:
        circuit.update(WORST_CIRCUIT)
