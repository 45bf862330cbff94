"""`wphil train`'s training options, made from the one settings schema
(wphil.drivers.training_settings): each option's type, range, choices and help are the
setting's own, so the CLI cannot disagree with the bench files, the API or the docs."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from wphil.drivers.keys import range_error
from wphil.drivers.training_settings import RESUMABLE, SETTINGS, TYPES, option_name
from wphil.learning import RULES


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange, refusing NaN and infinities (which every range check lets by)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class SettingIntRange(click.IntRange):
    """click's IntRange, whose refusal is the schema's own words (drivers/keys.py), as the
    API and bench files say it ("0 must be >= 1" where the upper end is only a cap)."""

    def __init__(self, meta: Any) -> None:
        super().__init__(meta["lo"], meta["hi"], min_open=meta["lo_open"],
                         max_open=meta["hi_open"])
        self.meta = meta

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        problem = range_error(self.meta, number)
        if problem:
            self.fail(f"{value} {problem}", param, ctx)
        return super().convert(number, param, ctx)


def _type(name: str) -> click.ParamType:
    meta, kind = SETTINGS[name].metadata, TYPES[name]
    if name == "algo":
        return click.Choice(sorted(RULES))
    if meta["choices"]:
        return click.Choice(meta["choices"])
    if kind is int:
        return SettingIntRange(meta)
    return FiniteFloatRange(meta["lo"], meta["hi"], min_open=meta["lo_open"],
                            max_open=meta["hi_open"])


def _help(name: str) -> str:
    f = SETTINGS[name]
    doc = f.metadata["doc"]
    default = "the bench's" if f.metadata["bench"] else str(f.default).lower()
    return f"{doc[0].upper()}{doc[1:]}.  [default: {default}]"


def setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add one click option per CLI training setting, in the schema's order."""
    for name in reversed([n for n, f in SETTINGS.items() if f.metadata["cli"]]):
        if TYPES[name] is bool:
            option = click.option(option_name(name), is_flag=True, default=None, help=_help(name))
        else:
            option = click.option(option_name(name), type=_type(name), help=_help(name))
        command = option(command)
    return command


#: the `--resume` help: which options may change
RESUME_HELP = ("Continue the run in this directory (only --device, "
               + ", ".join(option_name(n) for n in RESUMABLE) + " may change).")
