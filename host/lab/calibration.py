"""DAC calibration: sweep a channel's codes, read its volts with a DMM, fit a line, keep the table.

A real DAC is not the ideal line `V = Vref * code / 2^bits` of its datasheet: each channel
has a gain and an offset error and a bow (INL). Per channel this sweeps `points` codes
evenly over the middle 62/64 of the code range (the MCP4728 specifies its linearity away
from the rails, where the output stage saturates), reads each with the DMM on a fixed range
and NPLC, and fits `V = volts_per_code * code + offset_volts` by least squares. Reported per
channel: gain error, offset, rms residual and INL (best-fit and end-point), in LSB.

A channel whose slope is off by more than `MAX_GAIN_ERROR` does not follow its codes (a
stuck or unwired DAC output, or the DMM is on another channel); it is kept in the table
with `ok = false` and its reason, and is not used for training.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from wphil.drivers.base import Device
from wphil.drivers.bench import Bench
from wphil.drivers.caltable import CalibrationTable, ChannelLine, load_table
from wphil.drivers.errors import ConfigError
from wphil.drivers.instruments.keysight34461a import Keysight34461A, range_for
from wphil.runs import atomic_write

log = logging.getLogger(__name__)

#: sweep from 1/64 to 63/64 of full scale
SWEEP_MARGIN = 1 / 64
MAX_GAIN_ERROR = 0.5
#: the DMM range must read this far above Vref (DAC gain error, offset)
RANGE_HEADROOM = 1.25
DEFAULT_POINTS = 17
DEFAULT_NPLC = 10.0


def sweep_codes(bench: Bench, points: int) -> np.ndarray:
    """`points` distinct codes spread evenly over the middle of the code range, within limits."""
    full = 1 << bench.dac.bits
    lo = max(bench.limits.min_code, round(full * SWEEP_MARGIN))
    hi = min(bench.max_code, round(full * (1 - SWEEP_MARGIN)) - 1)
    if not 3 <= points <= hi - lo + 1:
        raise ConfigError(f"--points {points} is out of range: must be in 3..{hi - lo + 1} "
                          f"(codes {lo}..{hi} of the {bench.dac.bits}-bit DAC)")
    return np.unique(np.rint(np.linspace(lo, hi, points)).astype(np.int64))


def fit_channel(bench: Bench, channel: int, codes: np.ndarray, volts: np.ndarray) -> ChannelLine:
    """Least-squares line through the readings, and what it leaves unexplained."""
    lsb = bench.dac.vref / (1 << bench.dac.bits)
    slope, offset = np.polyfit(codes.astype(float), volts, 1)
    measured_lsb = abs(slope) if slope != 0 else lsb
    residual = (volts - (slope * codes + offset)) / measured_lsb
    end_slope = (volts[-1] - volts[0]) / (codes[-1] - codes[0])
    endpoint = (volts - (volts[0] + end_slope * (codes - codes[0]))) / measured_lsb
    gain_error = slope / lsb - 1
    ok = bool(abs(gain_error) <= MAX_GAIN_ERROR)
    problem = "" if ok else (f"output does not follow the code (slope {100 * slope / lsb:.0f}% of "
                             "nominal): a stuck or unwired DAC output, or the DMM is elsewhere")
    return ChannelLine(
        channel=channel, volts_per_code=float(slope), offset_volts=float(offset),
        gain_error=float(gain_error), offset_lsb=float(offset / lsb),
        rms_residual_lsb=float(np.sqrt(np.mean(residual ** 2))),
        max_inl_lsb=float(np.max(np.abs(residual))),
        endpoint_inl_lsb=float(endpoint[np.argmax(np.abs(endpoint))]),
        ok=ok, problem=problem, codes=codes.tolist(), volts=[float(v) for v in volts])


def measure_channel(device: Device, dmm: Keysight34461A, channel: int,
                    codes: np.ndarray) -> np.ndarray:
    """Drive `channel` through `codes`, read the DMM at each; leave it at the safe code."""
    volts = np.empty(len(codes))
    try:
        for i, code in enumerate(codes):
            device.set_channel(channel, int(code))
            volts[i] = dmm.read()
    finally:
        device.set_channel(channel, device.bench.safe_code)
    return volts


def calibrate(device: Device, dmm: Keysight34461A, channels: Sequence[int], points: int,
              connect: Callable[[int], None], nplc: float = DEFAULT_NPLC,
              on_channel: Callable[[ChannelLine], None] | None = None) -> CalibrationTable:
    """Measure every channel in `channels`; `connect(ch)` puts the DMM leads on channel ch."""
    bench = device.bench
    codes = sweep_codes(bench, points)
    dmm_range = range_for(bench.dac.vref * RANGE_HEADROOM)
    dmm.clear()
    dmm.configure_voltage_dc(dmm_range, nplc)
    dmm.check_errors()
    idn = dmm.idn
    lines = []
    try:
        for channel in channels:
            connect(channel)
            line = fit_channel(bench, channel, codes, measure_channel(device, dmm, channel, codes))
            log.info("DAC channel %d: %.6g V/code, offset %.4g V, INL %.2f LSB%s", channel,
                     line.volts_per_code, line.offset_volts, line.max_inl_lsb,
                     "" if line.ok else f" -- {line.problem}")
            lines.append(line)
            if on_channel:
                on_channel(line)
        dmm.check_errors()
    finally:
        device.safe()
    return CalibrationTable(
        bench=bench.name, device=device.url, dmm=idn,
        date=datetime.now(UTC).isoformat(timespec="seconds"), dac_bits=bench.dac.bits,
        vref=bench.dac.vref, points=len(codes), nplc=nplc, dmm_range=dmm_range, channels=lines)


def merge(old: CalibrationTable | None, new: CalibrationTable, path: Path) -> CalibrationTable:
    """`new`, plus the channels of `old` it did not measure (one-channel-at-a-time sessions)."""
    if old is None:
        return new
    if (old.bench, old.dac_bits) != (new.bench, new.dac_bits):
        raise ConfigError(f"{path} holds a calibration of bench {old.bench!r} with {old.dac_bits}-bit "
                          f"codes, not {new.bench!r} with {new.dac_bits}-bit: choose another --out")
    fresh = {c.channel for c in new.channels}
    kept = [c for c in old.channels if c.channel not in fresh]
    channels = sorted(kept + list(new.channels), key=lambda c: c.channel)
    return dataclasses.replace(new, channels=channels)


def write_table(path: Path, table: CalibrationTable) -> CalibrationTable:
    """Merge into an existing table at `path` and write it atomically; return what was written."""
    table = merge(load_table(path) if path.exists() else None, table, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, table.to_toml().encode())
    return table
