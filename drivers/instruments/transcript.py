"""Transcript tests for SCPI drivers, after PyMeasure's `expected_protocol`.

    with expected_protocol(Keysight34461A, [("VOLT:DC:NPLC 10", None),
                                            ("READ?", "+1.02400000E+00")]) as dmm:
        dmm.nplc = 10
        assert dmm.read() == 1.024

Each pair is (what the driver must send, what the instrument answers); `None` as the reply
means the command gets no answer, `None` as the command means the driver only reads.
The pairs must be used in order, and all of them: a missing, extra or different
exchange fails the test. Shipped with the package so users can test their own drivers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

Exchange = tuple[str | None, str | None]
T = TypeVar("T")


class TranscriptTransport:
    """A stand-in for a pyvisa resource that plays a transcript and checks every message."""

    def __init__(self, transcript: Sequence[Exchange]) -> None:
        self.transcript = list(transcript)
        self.index = 0
        self.pending: str | None = None

    def _expected(self) -> Exchange:
        if self.index >= len(self.transcript):
            raise AssertionError(f"exchange {self.index}: the transcript has ended")
        return self.transcript[self.index]

    def write(self, message: str) -> None:
        if self.pending is not None:
            raise AssertionError(f"wrote {message!r} while the reply {self.pending!r} was unread")
        sent, reply = self._expected()
        if sent != message:
            raise AssertionError(f"exchange {self.index}: expected {sent!r}, got {message!r}")
        self.index += 1
        self.pending = reply

    def read(self) -> str:
        if self.pending is None:
            sent, reply = self._expected()
            if sent is not None or reply is None:
                raise AssertionError(f"exchange {self.index}: read, but {sent!r} is expected "
                                     "to be sent")
            self.index += 1
            return reply
        reply, self.pending = self.pending, None
        return reply

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        unused = self.transcript[self.index:]
        if unused or self.pending is not None:
            raise AssertionError(f"transcript not used up: {len(unused)} exchanges left, first "
                                 f"{unused[:1]}; unread reply {self.pending!r}")


@contextmanager
def expected_protocol(instrument_class: type[T], transcript: Sequence[Exchange],
                      **kwargs: Any) -> Iterator[T]:
    """An instrument on a transcript; on leaving, every exchange must have been used."""
    transport = TranscriptTransport(transcript)
    yield instrument_class(transport, **kwargs)
    transport.assert_done()
