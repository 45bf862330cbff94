"""Declaring a setting once: `key()` puts its default, allowed range or choices and meaning
into dataclass field metadata, and `allowed` / `range_error` are the one range check that
bench files, the training settings, their CLI options and their docs all read."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any

MISSING = dataclasses.MISSING


def key(default: Any = MISSING, lo: float | None = None, hi: float | None = None,
        choices: tuple | None = None, doc: str = "", *, lo_open: bool = False,
        hi_open: bool = False, hi_cap: bool = False, **extra: Any) -> Any:
    """Declare one key: its default, allowed range (`lo`..`hi`, each end included unless
    `lo_open` / `hi_open`) or choices, and meaning; `extra` is more metadata for its readers.
    `hi_cap` marks `hi` as a sanity cap rather than a limit a user meets (a count of epochs):
    a value below `lo` is then told "must be >= lo", not the whole range."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "doc": doc, "lo_open": lo_open,
            "hi_open": hi_open, "hi_cap": hi_cap, **extra}
    return field(default=default, metadata=meta)


def allowed(meta: Any) -> str:
    """What a key allows, for messages and docs: "one of a, b", "in 0..1", "> 0 and <= 1000"."""
    if meta["choices"]:
        return "one of " + ", ".join(map(str, meta["choices"]))
    lo, hi = meta["lo"], meta["hi"]
    if lo is None:
        return "any"
    if not (meta.get("lo_open") or meta.get("hi_open")):
        return f"in {lo}..{hi}"
    return (f"{'>' if meta.get('lo_open') else '>='} {lo:g} and "
            f"{'<' if meta.get('hi_open') else '<='} {hi:g}")


def range_error(meta: Any, value: float) -> str | None:
    """Why a number is outside a key's range (NaN and infinities never pass), or None."""
    lo, hi = meta["lo"], meta["hi"]
    if lo is None:
        return None if math.isfinite(value) else "must be a finite number"
    low_ok = value > lo if meta.get("lo_open") else value >= lo
    high_ok = value < hi if meta.get("hi_open") else value <= hi
    if low_ok and high_ok:
        return None
    if meta.get("hi_cap"):  # one side is the practical range: name the side that was crossed
        if not low_ok:
            return f"must be {'>' if meta.get('lo_open') else '>='} {lo:g}"
        return f"must be {'<' if meta.get('hi_open') else '<='} {hi:.0f} (a sanity cap)"
    return f"is out of range: must be {allowed(meta)}"
