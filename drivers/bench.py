"""Bench files: the TOML description of one physical (or simulated) breadboard.

A bench file says what the network is (topology), which converter channel carries
each weight, input and output (wiring), what the converters are (dac, adc), how
codes map to weights and volts (calibration), what codes are safe (limits), how
long things take (timing), training defaults, and the simulated physics ([sim]).
Every key is declared once (drivers/bench_tables.py), with its type and allowed range; loading rejects
unknown keys and bad values with the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from wphil.drivers.bench_tables import (
    SECTIONS,
    Adc,
    BenchMeta,
    Calibration,
    Circuit,
    Dac,
    DacCalibration,
    Defaults,
    Limits,
    Power,
    Recurrent,
    Sim,
    Timing,
    Topology,
    Wiring,
)
from wphil.drivers.errors import ConfigError
from wphil.drivers.keys import MISSING, allowed, range_error


@dataclass(frozen=True, kw_only=True)
class Bench:
    """A validated bench file. `source` names where it came from, for messages."""

    bench: BenchMeta
    topology: Topology
    dac: Dac
    adc: Adc
    wiring: Wiring
    calibration: Calibration
    limits: Limits
    timing: Timing
    defaults: Defaults
    sim: Sim
    dac_calibration: DacCalibration = DacCalibration()
    power: Power = Power()
    recurrent: Recurrent = Recurrent()
    circuit: Circuit = Circuit()
    source: str = "<bench>"
    profile: str = "default"

    @property
    def name(self) -> str:
        return self.bench.name

    @property
    def dac_channels(self) -> int:
        return 4 * self.dac.chips

    @property
    def n_weights(self) -> int:
        return len(self.wiring.weights)

    @property
    def n_inputs(self) -> int:
        return self.topology.layers[0]

    @property
    def n_outputs(self) -> int:
        return self.topology.layers[-1]

    @property
    def is_recurrent(self) -> bool:
        """Whether the network has dynamics (time constants) and is driven by sequences."""
        return bool(self.recurrent.tau_us)

    @property
    def n_neurons(self) -> int:
        return sum(self.topology.layers[1:])

    @property
    def n_feedforward_weights(self) -> int:
        return sum(units * fan_in for units, fan_in in self.layer_shapes)

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """(units, fan-in including bias) of each non-input layer."""
        layers = self.topology.layers
        return [(layers[i + 1], layers[i] + 1) for i in range(len(layers) - 1)]

    @property
    def fixed_channels(self) -> dict[int, int]:
        """DAC channel -> the code it always holds ([wiring] fixed)."""
        return {f.channel: f.code for f in self.wiring.fixed}

    @property
    def max_code(self) -> int:
        return (1 << self.dac.bits) - 1 if self.limits.max_code < 0 else self.limits.max_code

    @property
    def safe_code(self) -> int:
        if self.limits.safe_code >= 0:
            return self.limits.safe_code
        code = self.calibration.weight_zero_volts / self.dac.vref * (1 << self.dac.bits)
        return int(min(max(round(code), self.limits.min_code), self.max_code))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain TOML-ready tables (tuples become lists), loadable by `bench_from_dict`."""
        out = {}
        for section in SECTIONS:
            table = dataclasses.asdict(getattr(self, section))
            out[section] = {k: list(v) if isinstance(v, tuple) else v for k, v in table.items()}
        return out


def _fail(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {message}")


def _allowed(f: dataclasses.Field) -> str:
    return allowed(f.metadata)


def _coerce(value: Any, hint: Any, f: dataclasses.Field, source: str, where: str) -> Any:
    """Check one value against its declared type and range; return it normalised."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise _fail(source, where, f"must be a list of numbers {_allowed(f)}")
        inner = typing.get_args(hint)[0]
        if dataclasses.is_dataclass(inner):
            return tuple(_section(inner, v, source, f"{where}[{i}]") for i, v in enumerate(value))
        return tuple(_coerce(v, inner, f, source, where) for v in value)
    if hint is bool or isinstance(value, bool):
        if hint is not bool or not isinstance(value, bool):
            raise _fail(source, where, f"must be {hint.__name__}, got {value!r}")
        return value
    if hint is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, hint):
        raise _fail(source, where, f"must be {'a number' if hint is float else hint.__name__}"
                    f" {_allowed(f)}, got {value!r}")
    meta = f.metadata
    if meta["choices"] and value not in meta["choices"]:
        raise _fail(source, where, f"{value!r} is not {_allowed(f)}")
    problem = range_error(meta, value) if hint in (int, float) else None
    if problem:
        raise _fail(source, where, f"{value!r} {problem}")
    return value


def _section(cls: type, table: Any, source: str, name: str) -> Any:
    label = name if name.startswith("[") else f"[{name}]"
    if not isinstance(table, dict):
        raise _fail(source, label, "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in table:
        if k not in fields:
            raise _fail(source, f"{label} {k}", "unknown key; valid keys: " + ", ".join(fields))
    values = {}
    for k, f in fields.items():
        if k in table:
            values[k] = _coerce(table[k], hints[k], f, source, f"{label} {k}")
        elif f.default is MISSING:
            raise _fail(source, f"{label} {k}", "missing required key")
    return cls(**values)


def _check_consistency(b: Bench) -> None:
    src = b.source
    layers = b.topology.layers
    if len(layers) < 2:
        raise _fail(src, "[topology] layers", "needs at least an input and an output layer")
    if min(layers[1:]) < 1 or (layers[0] < 1 and not b.is_recurrent):
        raise _fail(src, "[topology] layers", "every layer needs a unit (only a recurrent "
                    "network, with [recurrent] tau_us, may have 0 inputs)")
    n_w = b.n_feedforward_weights + _check_recurrent(b)
    wiring = b.wiring
    for keyname, want in (("weights", n_w), ("inputs", layers[0]), ("outputs", layers[-1])):
        got = len(getattr(wiring, keyname))
        if got != want:
            raise _fail(src, f"[wiring] {keyname}", f"has {got} channels, topology {list(layers)} "
                        f"needs {want}")
    if wiring.hidden and len(wiring.hidden) != sum(layers[1:-1]):
        raise _fail(src, "[wiring] hidden", f"needs one ADC channel per hidden unit "
                    f"({sum(layers[1:-1])}) or none")
    dac_used = wiring.weights + wiring.inputs + tuple(f.channel for f in wiring.fixed)
    if max(dac_used) >= b.dac_channels:
        raise _fail(src, "[wiring]", f"DAC channel {max(dac_used)} does not exist: "
                    f"{b.dac.chips} chips have channels 0..{b.dac_channels - 1}")
    if len(set(dac_used)) != len(dac_used):
        raise _fail(src, "[wiring]", "a DAC channel is used twice (weights, inputs, fixed)")
    adc_used = wiring.outputs + wiring.hidden
    if max(adc_used) >= b.adc.channels or len(set(adc_used)) != len(adc_used):
        raise _fail(src, "[wiring]", f"ADC channels must be distinct and in 0..{b.adc.channels - 1}")
    full = (1 << b.dac.bits) - 1
    lim = b.limits
    if not lim.min_code <= b.max_code <= full:
        raise _fail(src, "[limits]", f"need 0 <= min_code <= max_code <= {full} ({b.dac.bits}-bit DAC)")
    if not lim.min_code <= b.safe_code <= b.max_code:
        raise _fail(src, "[limits] safe_code", f"must be in min_code..max_code "
                    f"({lim.min_code}..{b.max_code})")
    for i, f in enumerate(wiring.fixed):
        if not lim.min_code <= f.code <= b.max_code:
            raise _fail(src, f"[wiring] fixed[{i}] code", f"{f.code} is outside the limits "
                        f"min_code..max_code ({lim.min_code}..{b.max_code})")
    for keyname in ("input_volts", "targets"):
        if len(getattr(b.calibration, keyname)) != 2:
            raise _fail(src, f"[calibration] {keyname}", "must be [low, high]")
    if any(ch >= b.dac_channels for ch in b.sim.stuck_dac_channels):
        raise _fail(src, "[sim] stuck_dac_channels", f"channels must be in 0..{b.dac_channels - 1}")
    _check_lists(b, "dac_calibration", ("channels", "volts_per_code", "offset_volts"))
    if any(ch >= b.dac_channels for ch in b.dac_calibration.channels):
        raise _fail(src, "[dac_calibration] channels", f"must be in 0..{b.dac_channels - 1}")
    _check_lists(b, "power", ("names", "channels", "volts", "current_limits", "max_volts"))
    for name, volts, top in zip(b.power.names, b.power.volts, b.power.max_volts):
        if volts > top:
            raise _fail(src, "[power] volts", f"rail {name}: {volts} V is above its max_volts {top} V")


def _check_recurrent(b: Bench) -> int:
    """Check [recurrent] against the topology; return the number of feedback weights."""
    rec, n = b.recurrent, b.n_neurons
    if len(rec.sources) != len(rec.targets):
        raise _fail(b.source, "[recurrent]", f"sources has {len(rec.sources)} entries, targets "
                    f"{len(rec.targets)}: one of each per feedback weight")
    if any(i >= n for i in rec.sources + rec.targets):
        raise _fail(b.source, "[recurrent] sources/targets", f"neurons are 0..{n - 1}")
    if rec.sources and not rec.tau_us:
        raise _fail(b.source, "[recurrent] tau_us", "feedback weights need a time constant "
                    "per neuron")
    if rec.tau_us and len(rec.tau_us) != n:
        raise _fail(b.source, "[recurrent] tau_us", f"has {len(rec.tau_us)} entries: one per "
                    f"neuron ({n})")
    pairs = list(zip(rec.sources, rec.targets))
    if len(set(pairs)) != len(pairs):
        raise _fail(b.source, "[recurrent]", "a feedback connection is listed twice")
    _check_reset_hold(b)
    return len(pairs)


def _check_reset_hold(b: Bench) -> None:
    """The DG412 reset must empty Cint to half an ADC LSB from a full swing around VMID:
    tON max plus RON * Cint * ln(swing / half LSB) (wphil.drivers.chipmodels.dg412)."""
    from wphil.drivers.chipmodels.dg412 import min_reset_s

    rec, c = b.recurrent, b.circuit.int_farads
    if rec.reset_pin < 0 or c <= 0:
        return
    need = min_reset_s(c, b.circuit.logic_volts / 2, b.adc.vref / (1 << b.adc.bits))
    if rec.reset_us * 1e-6 < need:
        raise _fail(b.source, "[recurrent] reset_us", f"{rec.reset_us} us leaves charge on the "
                    f"{c * 1e9:g} nF integrator capacitors: the DG412 needs at least "
                    f"{need * 1e6:.0f} us (tON 250 ns + RON 70 ohm x Cint x ln(swing / half "
                    "an LSB))")


def _check_lists(b: Bench, section: str, keys: tuple[str, ...]) -> None:
    """Parallel per-entry lists of one table: same length; the first holds distinct values."""
    table = getattr(b, section)
    lengths = {k: len(getattr(table, k)) for k in keys}
    if len(set(lengths.values())) > 1:
        raise _fail(b.source, f"[{section}]", "needs one entry per item in every list: "
                    + ", ".join(f"{k} has {n}" for k, n in lengths.items()))
    first = getattr(table, keys[0])
    if len(set(first)) != len(first):
        raise _fail(b.source, f"[{section}] {keys[0]}", "has a repeated entry")


def bench_from_dict(data: dict[str, Any], source: str = "<bench>",
                    profile: str = "default") -> Bench:
    """Validate parsed TOML tables into a `Bench`; raise `ConfigError` naming source and key."""
    for name in data:
        if name not in SECTIONS:
            raise _fail(source, f"[{name}]", "unknown table; valid tables: " + ", ".join(SECTIONS))
    tables = {n: _section(cls, data.get(n, {}), source, n) for n, cls in SECTIONS.items()}
    bench = Bench(**tables, source=source, profile=profile)
    _check_consistency(bench)
    return bench


def describe_keys() -> str:
    """Every key with its default and allowed values, for `--help` texts and docs."""
    lines = []
    for name, cls in SECTIONS.items():
        lines.append(f"[{name}]")
        for f in dataclasses.fields(cls):
            default = "required" if f.default is MISSING else repr(f.default)
            lines.append(f"  {f.name} = {default}  # {f.metadata['doc']} ({_allowed(f)})")
    return "\n".join(lines)

