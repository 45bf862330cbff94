"""The numbers a run is made of, checked where they enter (the CLI's options and
`wphil.train`'s keywords alike): finite, in range, and a perturbation that fits the DAC."""

from __future__ import annotations

import math
from typing import Any

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.learning import CodeMap

#: epochs when only --max-queries is given: the budget, not the bench's epoch count, stops it
UNLIMITED_EPOCHS = 10**9
#: numeric settings: (lowest, highest, lowest excluded, highest excluded); all must be finite
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "lr": (0, math.inf, True, False), "pert": (0, math.inf, True, False),
    "momentum": (0, 1, False, True), "init_scale": (0, math.inf, False, False),
    "target_accuracy": (0, 1, False, False), "target_loss": (0, math.inf, False, False),
    "batch_size": (0, math.inf, False, False), "epochs": (1, math.inf, False, False),
    "max_queries": (0, math.inf, False, False), "seed": (0, math.inf, False, False),
}
_INTEGERS = ("batch_size", "epochs", "max_queries", "seed")


def check_settings(settings: dict[str, Any]) -> None:
    """Every numeric setting given is a finite number in its range (NaN and inf refused),
    named as the CLI option it comes from."""
    for name, value in settings.items():
        if value is None or name not in RANGES:
            continue
        lo, hi, lo_open, hi_open = RANGES[name]
        option = "--" + name.replace("_", "-")
        integer = name in _INTEGERS
        kind = "an integer" if integer else "a finite number"
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            raise ConfigError(f"{option} {value!r}: must be {kind}")
        if not math.isfinite(value):
            raise ConfigError(f"{option} {value}: must be a finite number")
        if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
            low = f"{'>' if lo_open else '>='} {lo:g}"
            high = "" if hi == math.inf else f" and {'<' if hi_open else '<='} {hi:g}"
            raise ConfigError(f"{option} {value}: must be {low}{high}")


def check_pert(pert: float, bench: Bench) -> None:
    """A perturbation must fit inside the code limits from any code: at most half their span."""
    codemap = CodeMap(bench)
    widest = (codemap.max_code - codemap.min_code) // 2
    steps = codemap.perturbation_codes(pert)
    if steps.max() > widest:
        most = widest * float(codemap.weight_lsb.min())
        raise ConfigError(f"--pert {pert:g} is {steps.max()} DAC codes, more than half the code "
                          f"limits {codemap.min_code}..{codemap.max_code} allow ({widest}); on "
                          f"bench {bench.name} --pert must be at most {most:.4g} weight units")
