"""The MicroPython firmware for the Raspberry Pi Pico, shipped inside the wphil package.

The files in this folder run on the board (and, with `firmware/sim`, under the MicroPython
unix port); the host finds them through `firmware_dir()` so an installed `wphil` can flash
them. This `__init__.py` is host-side only and is never copied to a board.
"""

from __future__ import annotations

from pathlib import Path


def firmware_dir() -> Path:
    """The folder holding the firmware sources, wherever wphil is installed."""
    return Path(__file__).resolve().parent
