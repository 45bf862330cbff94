"""Progress of a training run on the terminal: epoch, loss, accuracy, queries per second."""

from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from wphil.drivers.status import status
from wphil.learning import EpochRecord

#: tqdm's default bar without its "<remaining" estimate: a run stops at its target, mostly
#: long before the epoch limit the bar counts to (an ETA against the limit was 9 min shown
#: for a 12 s run), and how soon it gets there cannot be told from the first epochs
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} epochs at most [{elapsed}{postfix}]"
COUNT_FORMAT = "{n_fmt} epochs [{elapsed}{postfix}]"     # no epoch limit
#: without a bar (stderr not a terminal): a first status line once a run has taken this
#: long, then one every LINE_EVERY_S; a run of a second or less stays silent
FIRST_LINE_S = 0.5
LINE_EVERY_S = 10.0


class EpochProgress:
    """A tqdm bar over epochs (drawn on stderr, only when it is a terminal), with no ETA.

    `trajectory`: show the RMS error in mV instead of an accuracy (the oscillator)."""

    def __init__(self, epochs: int | None, start: int = 0, disable: bool = False,
                 trajectory: bool = False) -> None:
        self.bar = tqdm(total=epochs, initial=start, unit="epoch", dynamic_ncols=True,
                        disable=True if disable else None, leave=True,
                        bar_format=BAR_FORMAT if epochs else COUNT_FORMAT)
        self._last: EpochRecord | None = None
        self.trajectory = trajectory
        # no bar (stderr is not a terminal) and none refused: a status line now and then
        self._lines = not disable and self.bar.disable
        self._next_line = time.monotonic() + FIRST_LINE_S
        self.epochs = epochs

    def update(self, record: EpochRecord) -> None:
        rate = 0.0
        if self._last is not None and record.elapsed_s > self._last.elapsed_s:
            rate = (record.queries - self._last.queries) / (record.elapsed_s - self._last.elapsed_s)
        measure = (f"rms {1000 * max(record.loss, 0.0) ** 0.5:.0f} mV" if self.trajectory
                   else f"acc {100 * record.accuracy:.1f}%")
        self.bar.set_postfix_str(f"loss {record.loss:.4f}  {measure}  "
                                 f"queries {record.queries:,}  {rate:,.0f} q/s", refresh=False)
        self.bar.update(record.epoch - self.bar.n)
        self._last = record
        if self._lines and time.monotonic() >= self._next_line:
            limit = f" of at most {self.epochs:,}" if self.epochs else ""
            status.info("training: epoch %s%s, %s, %s queries", f"{record.epoch:,}", limit,
                        measure, f"{record.queries:,}")
            self._next_line = time.monotonic() + LINE_EVERY_S

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()
