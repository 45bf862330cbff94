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
"""

from __future__ import annotations

import copy
from typing import Any

from wphil.drivers.errors import ConfigError

PROFILES = ("ideal", "default", "harsh", "heldout")
#: the held-out physics of profile `heldout`
HELDOUT_SIM = {"multiplier_cubic": 0.15, "rail_asymmetry": 0.3}

_IDEAL_SIM = {
    "dac_gain_mismatch": 0.0, "dac_offset_volts": 0.0, "dac_inl_lsb": 0.0,
    "weight_gain_mismatch": 0.0, "weight_offset": 0.0, "vsat_mismatch": 0.0,
    "output_offset_volts": 0.0, "neuron_offset_volts": 0.0, "read_noise_volts": 0.0,
    "dnl_spike_lsb": 0.0,
    "stuck_dac_channels": [], "drift_volts_per_kquery": 0.0,
}


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
