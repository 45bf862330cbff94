"""Non-ideality profiles: named edits of a bench's converters and [sim] physics.

`default` is the bench as written. `ideal` removes every non-ideality and uses 16-bit
converters (the setting where measured and analytic gradients must agree). `harsh` is a
bad breadboard: 8-bit DACs, 10% gain mismatch, 2 LSB read noise, one stuck weight channel.
"""

from __future__ import annotations

import copy
from typing import Any

from wphil.drivers.errors import ConfigError

PROFILES = ("ideal", "default", "harsh")

_IDEAL_SIM = {
    "dac_gain_mismatch": 0.0, "dac_offset_volts": 0.0, "dac_inl_lsb": 0.0,
    "weight_gain_mismatch": 0.0, "weight_offset": 0.0, "vsat_mismatch": 0.0,
    "output_offset_volts": 0.0, "read_noise_volts": 0.0, "dnl_spike_lsb": 0.0,
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
        data.setdefault("dac", {})["bits"] = 16
        data.setdefault("adc", {})["bits"] = 16
        sim.update(_IDEAL_SIM)
        return data
    adc = data.get("adc", {})
    adc_lsb_volts = adc.get("vref", 3.3) / (1 << adc.get("bits", 12))
    data.setdefault("dac", {})["bits"] = 8
    sim.update({
        "dac_gain_mismatch": 0.10, "weight_gain_mismatch": 0.10,
        "read_noise_volts": 2 * adc_lsb_volts,
        "stuck_dac_channels": [data.get("wiring", {}).get("weights", [0])[0]],
        "stuck_code": 0,
    })
    return data
