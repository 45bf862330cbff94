"""`--log-wire FILE`: every frame in both directions, timestamped, for debugging a bench.

One line per event: ISO time (us), direction (TX, RX, RX-NOISE), the command name,
sequence number, flags, payload length, and the frame's bytes in hex.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from wphil.firmware import protocol as P

_FLAG_NAMES = ((P.F_REPLY, "REPLY"), (P.F_ERROR, "ERROR"), (P.F_EVENT, "EVENT"))


class WireLog:
    def __init__(self, path: str | Path) -> None:
        self.file: TextIO = open(path, "a", encoding="utf-8", buffering=1)

    def _line(self, text: str) -> None:
        self.file.write(f"{datetime.now().isoformat(timespec='microseconds')} {text}\n")

    def frame(self, direction: str, cmd: int, flags: int, seq: int, payload: bytes) -> None:
        name = P.COMMAND_NAMES.get(cmd, f"0x{cmd:02x}")
        flag_text = "|".join(n for bit, n in _FLAG_NAMES if flags & bit) or "-"
        raw = P.encode(cmd, seq, payload, flags)
        self._line(f"{direction} {name} seq={seq} flags={flag_text} len={len(payload)} {raw.hex()}")

    def noise(self, data: bytes) -> None:
        self._line(f"RX-NOISE {len(data)} bytes {data.hex()}")

    def note(self, text: str) -> None:
        self._line(f"-- {text}")

    def close(self) -> None:
        self.file.close()
