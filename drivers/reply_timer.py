"""How long the host waits for a reply before it asks whether the request was lost.

A fixed timeout is either too short for a slow board or far too long for a fast one: a
frame lost on a 3 ms link would cost a 2 s wait. The link does not need to guess right,
though: when a reply is late it sends a PING, and the firmware answers in order, so a PING
answered first means the request was lost, and one still unanswered means the board is
busy (drivers/link.py). So the first wait can be short: twice the quickest of the last
round trips measured for this kind of request (command and size, in powers of two, since
a reply's time grows with the forward passes and bytes in it). Only replies that can
belong to one attempt are timed (Karn's rule). A kind of request not timed yet borrows
the shortest wait of the smaller ones (of the same command if there are any), scaled by
the size ratio; before any reply at all, the wait is `INITIAL_WAIT_S`.
"""

from __future__ import annotations

from collections import deque

# The shortest wait: a busy host (or the unix port sharing its cores) stalls for ms at a
# time, and asking too early only costs a PING.
MIN_WAIT_S = 0.02
# Before anything was timed. Short on purpose: a board that needs longer (the first HELLO
# after boot hashes the firmware files) only gets a few PINGs, queued behind the request.
INITIAL_WAIT_S = 0.03
# The quickest of this many recent round trips: one slow answer (a board just reset) does
# not make every later wait long.
SAMPLES = 8


class ReplyTimer:
    """Recent round trips per (command, size class); `wait` is how long to wait first."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self.samples: dict[tuple[int, int], deque[float]] = {}

    @staticmethod
    def key(cmd: int, size: int) -> tuple[int, int]:
        return cmd, max(size, 1).bit_length()

    def wait(self, key: tuple[int, int]) -> float:
        if key in self.samples:
            return self._clamp(2 * min(self.samples[key]))
        smaller = [k for k in self.samples if k[1] <= key[1]]
        same = [k for k in smaller if k[0] == key[0]]
        if not smaller:
            return self._clamp(INITIAL_WAIT_S)
        return min(self._clamp(self.wait(k) * 2 ** (key[1] - k[1])) for k in same or smaller)

    def sample(self, key: tuple[int, int], seconds: float) -> None:
        """The round trip of an attempt whose reply can only be its own."""
        self.samples.setdefault(key, deque(maxlen=SAMPLES)).append(seconds)

    def _clamp(self, seconds: float) -> float:
        return min(self.ceiling, max(MIN_WAIT_S, seconds))
