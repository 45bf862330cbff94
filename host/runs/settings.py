"""The settings a run is made of, checked where they enter (the CLI's options and
`wphil.train`'s keywords alike) against the one schema, wphil.drivers.training_settings:
of their type, finite, in range; and a perturbation that fits the DAC."""

from __future__ import annotations

from typing import Any

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError
from wphil.drivers.training_settings import MOST_EPOCHS, RESUMABLE, SETTINGS, check_setting
from wphil.learning import CodeMap

__all__ = ["RESUMABLE", "SETTINGS", "UNLIMITED_EPOCHS", "check_pert", "check_settings"]

#: epochs when only --max-queries is given: the budget, not the bench's epoch count, stops it
UNLIMITED_EPOCHS = MOST_EPOCHS


def check_settings(settings: dict[str, Any]) -> None:
    """Every setting given (not None) is a known one, of its type and in its one range
    (NaN and inf refused), named as the CLI option it comes from."""
    for name, value in settings.items():
        if name not in SETTINGS:
            raise ConfigError(f"unknown training setting {name!r}; valid: {', '.join(SETTINGS)}")
        if value is not None:
            check_setting(name, value)


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
