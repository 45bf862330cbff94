"""The bench's supply rails on a DP832-class supply: switch on safely, off, report.

A bench file's `[power]` table lists the rails (name, supply output, volts, current limit,
max volts). Every rail is checked against its own `max_volts` and the supply's ratings
before any command is sent. Switching on sets each output's over-voltage protection to
the rail's `max_volts` (so the instrument itself refuses more, whoever turns the knob), its
current limit and voltage, checks the error queue, then turns the outputs on in list
order and checks none is in current limit (CC: a short or a wrong part). Any error on the
way, an interrupt included, switches the rails off again (in reverse order) before it
propagates; `powered()` also switches them off on leaving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, InstrumentError, WphilError
from wphil.drivers.instruments.rigol_dp832 import OVP_RANGES, RATINGS, RigolDP832

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rail:
    name: str
    channel: int
    volts: float
    current_limit: float
    max_volts: float


@dataclass(frozen=True)
class RailStatus:
    rail: Rail
    enabled: bool
    set_volts: float
    set_current: float
    measured_volts: float
    measured_amps: float
    mode: str

    def to_dict(self) -> dict[str, object]:
        return {"rail": self.rail.name, "channel": self.rail.channel, "enabled": self.enabled,
                "set_volts": self.set_volts, "set_current": self.set_current,
                "measured_volts": self.measured_volts, "measured_amps": self.measured_amps,
                "mode": self.mode, "max_volts": self.rail.max_volts}


def bench_rails(bench: Bench) -> list[Rail]:
    """The rails of the bench's `[power]` table, checked against the supply's ratings."""
    p = bench.power
    if not p.names:
        raise ConfigError(f"{bench.source}: [power] lists no rails (names, channels, volts, "
                          "current_limits, max_volts)")
    rails = [Rail(*entry) for entry in zip(p.names, p.channels, p.volts, p.current_limits,
                                           p.max_volts)]
    for rail in rails:
        check_rail(rail, f"{bench.source}: [power] rail {rail.name}")
    return rails


def check_rail(rail: Rail, where: str) -> None:
    """Refuse a rail the bench or a DP832 output cannot take; sends nothing."""
    if rail.channel not in RATINGS:
        raise ConfigError(f"{where}: supply channel {rail.channel} does not exist on a DP832 "
                          f"(channels {', '.join(map(str, RATINGS))})")
    max_v, max_a = RATINGS[rail.channel]
    ovp_lo, ovp_hi = OVP_RANGES[rail.channel]
    if rail.volts > rail.max_volts:
        raise ConfigError(f"{where}: {rail.volts} V is above the rail's max_volts {rail.max_volts} V")
    if rail.volts > max_v or rail.current_limit > max_a:
        raise ConfigError(f"{where}: {rail.volts} V / {rail.current_limit} A exceeds DP832 CH"
                          f"{rail.channel}'s rating of {max_v:g} V / {max_a:g} A")
    if not ovp_lo <= rail.max_volts <= ovp_hi:
        raise ConfigError(f"{where}: max_volts {rail.max_volts} V is outside CH{rail.channel}'s "
                          f"over-voltage protection range {ovp_lo:g}..{ovp_hi:g} V")


class BenchPower:
    """The bench's rails on one supply."""

    def __init__(self, psu: RigolDP832, rails: list[Rail]) -> None:
        for rail in rails:
            check_rail(rail, f"rail {rail.name}")
        self.psu, self.rails = psu, rails

    def on(self) -> list[RailStatus]:
        """Configure and switch on every rail; on any failure switch them off again."""
        try:
            self.psu.clear()
            for rail in self.rails:
                out = self.psu.output(rail.channel)
                out.ovp_level = rail.max_volts
                out.ovp_enabled = True
                out.current_limit = rail.current_limit
                out.voltage = rail.volts
            self.psu.check_errors()
            for rail in self.rails:
                self.psu.output(rail.channel).enabled = True
            status = self.status()
            overloaded = [s for s in status if s.mode.upper() == "CC"]
            if overloaded:
                s = overloaded[0]
                raise InstrumentError(f"rail {s.rail.name} (CH{s.rail.channel}) is in current "
                                      f"limit at {s.measured_amps:g} A: a short or overload; rails "
                                      "switched off")
            self.psu.check_errors()
            return status
        except BaseException:
            self.off(best_effort=True)
            raise

    def off(self, best_effort: bool = False) -> None:
        """Switch the rails off in reverse order. `best_effort`: keep going past errors."""
        for rail in reversed(self.rails):
            try:
                self.psu.output(rail.channel).enabled = False
            except WphilError as exc:
                if not best_effort:
                    raise
                log.error("could not switch off rail %s (CH%d): %s", rail.name, rail.channel, exc)

    def status(self) -> list[RailStatus]:
        """What each rail's output is set to and measures now."""
        report = []
        for rail in self.rails:
            out = self.psu.output(rail.channel)
            report.append(RailStatus(rail, out.enabled, out.voltage, out.current_limit,
                                     out.measured_voltage, out.measured_current, out.mode))
        return report

    @contextmanager
    def powered(self) -> Iterator[list[RailStatus]]:
        """Rails on for the block, off when it ends, however it ends."""
        status = self.on()
        try:
            yield status
        finally:
            self.off(best_effort=True)
