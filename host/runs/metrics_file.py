"""metrics.csv checked before a run continues from it: a header, then one complete row per
epoch, 1, 2, 3, ... A torn last line (a kill mid-write) and rows past the checkpoint are
expected and dropped; anything else means the file was damaged, and is refused."""

from __future__ import annotations

from pathlib import Path

from wphil.drivers.errors import ConfigError
from wphil.learning import EpochRecord


def trimmed_metrics(path: Path, last_epoch: int) -> tuple[str, list[str], int]:
    """(header, the rows of epochs 1..last_epoch, how many rows past them are dropped); a
    `ConfigError` for a file that is not UTF-8, has another header, a row that is not
    numbers, or epochs missing, repeated or out of order."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a metrics table (not UTF-8 text); the file is "
                          "damaged") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    if lines[0].strip() != ",".join(EpochRecord.COLUMNS):
        raise ConfigError(f"{path}: line 1 is not the metrics header "
                          f"({','.join(EpochRecord.COLUMNS)}); the file is damaged")
    body = lines[1:-1]                       # the part after the last newline is torn
    epochs = [_row_epoch(line, path, n) for n, line in enumerate(body, start=2)]
    if epochs[:last_epoch] != list(range(1, last_epoch + 1)):
        raise ConfigError(f"{path}: has epochs {_span(epochs)}, but the checkpoint is at "
                          f"epoch {last_epoch}: rows are missing or repeated; the file is "
                          "damaged")
    if epochs[last_epoch:] != list(range(last_epoch + 1, len(epochs) + 1)):
        raise ConfigError(f"{path}: epochs after {last_epoch} are out of order; the file "
                          "is damaged")
    keep = body[:last_epoch]
    return lines[0], keep, len(body) - len(keep) + (1 if lines[-1] else 0)


def _row_epoch(line: str, path: Path, number: int) -> int:
    """The epoch of one complete metrics row; a `ConfigError` for a row that is not one."""
    cells = line.split(",")
    try:
        if len(cells) != len(EpochRecord.COLUMNS):
            raise ValueError(f"{len(cells)} columns, not {len(EpochRecord.COLUMNS)}")
        epoch = int(cells[0])
        list(map(float, cells[1:]))
    except ValueError as exc:
        raise ConfigError(f"{path}: line {number} is not a metrics row ({exc}); the file is "
                          "damaged") from None
    return epoch


def _span(epochs: list[int]) -> str:
    return f"{epochs[0]}..{epochs[-1]}" if epochs else "none"
