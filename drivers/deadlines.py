"""How long the serial driver may take: its deadlines, the reset-storm rule, and the
shortest reply timeout a link's speed allows.

- A request that fails (no reply, a port that failed, a board that forgot its
  configuration) is recovered and repeated until `reconnect` seconds after its first
  failure, re-configures after resets included; then it is given up (DeviceError). Every
  wait inside (a reply, a reopen, the pause before a retry) is cut to the time left, so
  the deadline is kept to within one port read (0.1 s).
- Connecting is bounded the same way: `reconnect` seconds, or BOOT_S for a board process
  this host has just started (upy://, rp2040://), if that is longer.
- A reset storm: STORM_RESETS resets of the board while one request is outstanding (the
  window is that request, itself at most `reconnect` s). A board that resets on (nearly)
  every request answers every reconnect, so no deadline of a single step would fire; the
  storm rule ends the run instead (ResetStorm, a DeviceError: exit 1, run saved).
"""

from __future__ import annotations

import time

from wphil.drivers.errors import DeviceError
from wphil.drivers.urls import _at_least, _named
from wphil.firmware import protocol as P

# A board resetting on every request reaches it within seconds; a link at twice the
# README's fault rates (12% of the frames sent reset or unplug the board) reached 5 in one
# request in 2 of 17 runs of bench/reliability.py, 10 in none of 40 (firmware 0.3.0).
STORM_RESETS = 10
BITS_PER_BYTE = 10          # a UART byte: start bit, 8 data bits, stop bit
# The exchange a timeout must at least allow: a HELLO request and its reply (JSON, at most
# this many bytes), the first thing said on any link.
HELLO_EXCHANGE_BYTES = P.OVERHEAD + 16 + P.OVERHEAD + 512


class ResetStorm(DeviceError):
    """The board kept resetting while one request was outstanding."""


class Deadline:
    """A point in time (time.monotonic) and what it is for, for the message."""

    def __init__(self, seconds: float, what: str) -> None:
        self.at = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def left(self) -> float:
        return self.at - time.monotonic()

    def cap(self, seconds: float) -> float:
        """`seconds`, or the time left if that is shorter (never negative)."""
        return max(0.0, min(seconds, self.left()))


class RequestBudget:
    """One failing request: its `reconnect` deadline and the resets seen while it is out."""

    def __init__(self, reconnect_s: float, port: str, command: str) -> None:
        self.deadline = Deadline(reconnect_s, f"reconnect={reconnect_s:g} s")
        self.port, self.command, self.resets = port, command, 0

    def check(self, reason: str) -> None:
        """DeviceError once the deadline has passed."""
        if self.deadline.left() <= 0:
            raise DeviceError(f"{self.port} lost ({reason}) and not back after "
                              f"{self.deadline.seconds - self.deadline.left():.1f} s "
                              f"({self.deadline.what})")

    def count_reset(self) -> None:
        """ResetStorm at the STORM_RESETS-th reset."""
        self.resets += 1
        if self.resets >= STORM_RESETS:
            raise ResetStorm(f"{self.port} was reset {self.resets} times while one "
                             f"{self.command} was outstanding (a reset storm: check its "
                             "supply and wiring)")


def shortest_timeout(baudrate: float) -> float:
    """The time one HELLO exchange takes on the wire at `baudrate` (a USB CDC port reports
    the 115200 it was opened with; its real speed is higher, so this errs short)."""
    return HELLO_EXCHANGE_BYTES * BITS_PER_BYTE / baudrate


BAUD = 115200                 # what the serial driver opens ports with
#: the `timeout=S` URL option: a reply timeout no reply could meet is refused up front
reply_timeout = _named(f"a number >= {shortest_timeout(BAUD):.3f} (s: one HELLO exchange at "
                       f"{BAUD} baud)", _at_least(float, shortest_timeout(BAUD)))
