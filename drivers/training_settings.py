"""The training settings, declared once: what a run is made of beyond device, bench and task.

Every setting is a `key()` (wphil.drivers.keys) with its default, its one allowed range or
choices and its meaning, and says where it may be given:
- `bench`: a key of a bench file's `[defaults]` table (the bench's tuned value),
- `cli`: an option of `wphil train` (every setting is a keyword of `wphil.train`),
- `resume`: may change on `wphil train --resume` (the rest are fixed in the run's config.toml).
Readers: `TrainConfig` (wphil.learning.train) is this dataclass plus the rule's options; the
bench's `[defaults]` table is `BenchSettings` plus `pattern_lr`; `wphil train`'s options,
`check_setting`, `--resume` and docs/reference/training-settings.md are made from `SETTINGS`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from wphil.drivers.errors import ConfigError
from wphil.drivers.keys import allowed, key, range_error

#: the most epochs; also what --max-queries alone sets, so that the budget stops the run
MOST_EPOCHS = 1_000_000_000


def setting(default: Any, *, bench: bool = True, cli: bool = True, resume: bool = False,
            **declared: Any) -> Any:
    """One training setting: a `key()` that also says where it may be given (module doc)."""
    return key(default, bench=bench, cli=cli, resume=resume, **declared)


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    algo: str = setting("wp", doc="learning rule")
    lr: float = setting(0.5, lo=0.0, hi=1e6, lo_open=True, doc="learning rate; without it a "
                        "rule gets the bench's, scaled for noisier rules (their `lr_factor`)")
    pert: float = setting(0.04, lo=0.0, hi=1e3, lo_open=True, doc="perturbation in weight "
                          "units (at least one DAC LSB is used)")
    momentum: float = setting(0.0, lo=0.0, hi=1.0, hi_open=True, doc="SGD momentum (Adam's "
                              "beta1; 0 means 0.9 for Adam)")
    optimizer: str = setting("sgd", choices=("sgd", "adam"), doc="how a gradient estimate "
                             "becomes a step, for every rule")
    restart_after: int = setting(0, lo=0, hi=MOST_EPOCHS, hi_cap=True, doc="restart from fresh weights "
                                 "after this many epochs without a new lowest loss; 0 = never")
    init_scale: float = setting(1.0, lo=0.0, hi=1e3, doc="initial weights uniform in "
                                "+-init_scale (weight units)")
    batch_size: int = setting(0, lo=0, hi=1_000_000, doc="patterns per step; 1 = per pattern "
                              "(Jabri & Flower), 0 = whole set")
    epochs: int = setting(500, lo=1, hi=MOST_EPOCHS, hi_cap=True, resume=True,
                          doc="stop after this many epochs")
    max_queries: int = setting(0, lo=0, hi=10**15, hi_cap=True, bench=False, resume=True,
                               doc="stop after this many forward passes; 0 = no budget")
    target_accuracy: float = setting(1.0, lo=0.0, hi=1.0, resume=True, doc="stop at this "
                                     "accuracy")
    target_loss: float = setting(0.0, lo=0.0, hi=100.0, resume=True, doc="also require this "
                                 "loss (V^2); 0 = off")
    rounding: str = setting("round", choices=("round", "stochastic"), bench=False,
                            doc="how float weights become DAC codes")
    seed: int = setting(0, lo=0, hi=2**32 - 1, bench=False, doc="seed of the initial weights "
                        "and every host-side random draw")
    onchip: bool = setting(False, bench=False, doc="run the perturbation loop on the device "
                           "(per pattern, forward difference); the host only records progress")
    margin: float = setting(0.05, lo=0.0, hi=10.0, bench=False, cli=False, doc="volts a "
                            "pattern must be decided by to count toward the target")
    confirm: bool = setting(True, bench=False, cli=False, doc="re-measure the whole set "
                            "before claiming convergence")


#: name -> declaration, in declaration order
SETTINGS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(TrainingSettings)}
#: name -> type (int, float, str, bool)
TYPES: dict[str, type] = typing.get_type_hints(TrainingSettings)
#: settings that may change on --resume; the others are fixed in the run's config.toml
RESUMABLE = tuple(name for name, f in SETTINGS.items() if f.metadata["resume"])


def option_name(name: str) -> str:
    """The `wphil train` option of a setting: lr -> --lr, batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def check_setting(name: str, value: Any) -> Any:
    """`value` if it is of the setting's type and in its range (a `ConfigError` naming the
    option and what is allowed, otherwise); ints pass as floats, bools never as numbers."""
    meta, kind = SETTINGS[name].metadata, TYPES[name]
    where = f"{option_name(name)} {value!r}"
    if kind is bool or isinstance(value, bool):
        if not isinstance(value, bool) or kind is not bool:
            raise ConfigError(f"{where}: must be {'true or false' if kind is bool else _kind(kind)}")
        return value
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: must be {_kind(kind)} {allowed(meta)}")
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"{where}: must be {allowed(meta)}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number")
    problem = range_error(meta, value) if kind in (int, float) else None
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return value


def _kind(kind: type) -> str:
    return {int: "an integer", float: "a finite number", str: "a string"}[kind]


def _bench_table() -> type:
    """The settings a bench's [defaults] may set, as a dataclass of their `key()`s."""
    declared = [(name, TYPES[name], dataclasses.field(default=f.default, metadata=f.metadata))
                for name, f in SETTINGS.items() if f.metadata["bench"]]
    return dataclasses.make_dataclass("BenchSettings", declared, frozen=True, kw_only=True)


#: the bench-file part of the schema; drivers.bench_tables.Defaults adds `pattern_lr`
BenchSettings = _bench_table()
