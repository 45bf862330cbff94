"""Wires and virtual time for the pin-level chip models."""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[["Net", bool], None]


class Clock:
    """Virtual time in seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class Net:
    """One wire: the AND of whatever drives it, else its pull (True: pull-up)."""

    def __init__(self, name: str, pull: bool) -> None:
        self.name, self.pull = name, pull
        self.drivers: dict[object, bool] = {}
        self.listeners: list[Listener] = []
        self.level = pull

    def drive(self, who: object, level: bool | None) -> None:
        """`who` drives the net to `level`, or lets go of it (None)."""
        if level is None:
            self.drivers.pop(who, None)
        else:
            self.drivers[who] = bool(level)
        new = all(self.drivers.values()) if self.drivers else self.pull
        if new != self.level:
            self.level = new
            for listener in list(self.listeners):
                listener(self, new)
