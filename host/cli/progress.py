"""Progress of a training run on the terminal: epoch, loss, accuracy, queries per second."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from wphil.learning import EpochRecord


class EpochProgress:
    """A tqdm bar over epochs (drawn on stderr, only when it is a terminal)."""

    def __init__(self, epochs: int | None, start: int = 0, disable: bool = False) -> None:
        self.bar = tqdm(total=epochs, initial=start, unit="epoch", dynamic_ncols=True,
                        disable=True if disable else None, leave=True)
        self._last: EpochRecord | None = None

    def update(self, record: EpochRecord) -> None:
        rate = 0.0
        if self._last is not None and record.elapsed_s > self._last.elapsed_s:
            rate = (record.queries - self._last.queries) / (record.elapsed_s - self._last.elapsed_s)
        self.bar.set_postfix_str(f"loss {record.loss:.4f}  acc {100 * record.accuracy:.1f}%  "
                                 f"queries {record.queries:,}  {rate:,.0f} q/s", refresh=False)
        self.bar.update(record.epoch - self.bar.n)
        self._last = record

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()
