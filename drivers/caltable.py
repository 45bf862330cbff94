"""The DAC calibration table file: its format, read, checked and attached to a bench.

`wphil calibrate` measures each DAC channel's transfer line with a DMM and writes this
TOML file (host/lab/calibration.py). A bench file references it with
`[calibration] table = "FILE"` (relative to the bench file); loading the bench copies the
lines of the channels that passed into its `[dac_calibration]` table, which
`wphil.learning.codes.CodeMap` uses and every run's config.toml records, so `--resume` reproduces a
run even after the table is re-measured.

    [table]                     # what was measured, when, with what
    format = 1
    bench = "xor-2-2-1"
    device = "mock://"
    dmm = "Keysight Technologies,34461A,MY59000001,A.03.01"
    date = "2026-03-01T12:00:00+00:00"
    dac_bits = 12
    vref = 2.048
    ...
    [[channel]]                 # one per DAC channel: V = volts_per_code * code + offset_volts
    channel = 0
    volts_per_code = 0.000502
    offset_volts = 0.0013
    max_inl_lsb = 0.31          # best-fit INL, in LSB of the measured line
    ok = true
    codes = [64, 312, ...]      # the raw sweep, so the fit can be redone
    volts = [0.0334, 0.1579, ...]
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from wphil.drivers.bench import Bench, bench_from_dict
from wphil.drivers.bench_tables import DacCalibration
from wphil.drivers.errors import ConfigError

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True)
class ChannelLine:
    """The measured line of one DAC channel and how well a line describes it."""

    channel: int
    volts_per_code: float
    offset_volts: float
    gain_error: float          # volts_per_code / (Vref / 2^bits) - 1
    offset_lsb: float          # offset_volts in nominal LSB
    rms_residual_lsb: float    # rms deviation of the readings from the fitted line
    max_inl_lsb: float         # largest |deviation| from the fitted line (best-fit INL)
    endpoint_inl_lsb: float    # largest |deviation| from the line through the end points
    ok: bool
    problem: str = ""
    codes: list[int] = field(default_factory=list)
    volts: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class CalibrationTable:
    bench: str
    device: str
    dmm: str
    date: str
    dac_bits: int
    vref: float
    points: int
    nplc: float
    dmm_range: float
    channels: list[ChannelLine]

    def good(self) -> list[ChannelLine]:
        return [c for c in self.channels if c.ok]

    def to_toml(self) -> str:
        meta = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "channels"}
        data = {"table": {"format": FORMAT, **meta},
                "channel": [dataclasses.asdict(c) for c in self.channels]}
        return ("# DAC calibration measured by `wphil calibrate`; reference it from a bench file:\n"
                "#   [calibration]\n#   table = \"THIS_FILE\"\n" + tomli_w.dumps(data))

    @classmethod
    def from_toml(cls, text: str, source: str) -> CalibrationTable:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        meta = dict(data.get("table", {}))
        if meta.pop("format", None) != FORMAT:
            raise ConfigError(f"{source}: [table] format must be {FORMAT} (is it a calibration "
                              "table written by wphil calibrate?)")
        channels = [_build(ChannelLine, c, source, f"[[channel]] {i}")
                    for i, c in enumerate(data.get("channel", []))]
        return _build(cls, {**meta, "channels": channels}, source, "[table]")


def _build(cls: type, values: dict[str, Any], source: str, where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{source}: {where}: unknown keys {', '.join(sorted(unknown))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None


def load_table(path: Path) -> CalibrationTable:
    if not path.is_file():
        raise ConfigError(f"calibration table not found: {path} (write it with wphil calibrate)")
    return CalibrationTable.from_toml(path.read_text(encoding="utf-8"), str(path))


def attach_table(bench: Bench, base_dir: Path) -> Bench:
    """The bench with `[calibration] table` (relative to `base_dir`) loaded into
    `[dac_calibration]`; a table measured at another DAC resolution is a `ConfigError`."""
    path = (base_dir / bench.calibration.table).resolve()
    table = load_table(path)
    where = f"{bench.source}: [calibration] table {path}"
    if table.dac_bits != bench.dac.bits:
        raise ConfigError(f"{where} was measured with {table.dac_bits}-bit DAC codes, the bench "
                          f"({bench.profile} profile) has {bench.dac.bits}-bit: recalibrate")
    bad = [c.channel for c in table.good() if c.channel >= bench.dac_channels]
    if bad:
        raise ConfigError(f"{where} has DAC channel {bad[0]}; the bench has "
                          f"0..{bench.dac_channels - 1}")
    if table.bench != bench.name:
        log.warning("%s was measured on bench %r, not %r", path, table.bench, bench.name)
    good = table.good()
    dac_cal = DacCalibration(
        channels=tuple(c.channel for c in good),
        volts_per_code=tuple(c.volts_per_code for c in good),
        offset_volts=tuple(c.offset_volts for c in good),
        source=f"{path} ({table.date}, {table.dmm})")
    calibration = dataclasses.replace(bench.calibration, table=str(path))
    bench = dataclasses.replace(bench, calibration=calibration, dac_calibration=dac_cal)
    return bench_from_dict(bench.to_dict(), bench.source, bench.profile)   # validate the lines
