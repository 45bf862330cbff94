"""Fault injection on a serial link: the boring ways benches fail, on demand and seeded.

URL options (serial:// and upy://): faults=KIND:RATE[,KIND:RATE...]&fault_seed=N
    drop, flip, dup   per byte, both directions: the byte is lost, has one bit flipped,
                      or arrives twice
    delay             per request: it is held back `delay_s` (0.05 s) before sending
    reset             per request: the device's MCU resets just before the request reaches
                      it (upy:// only: the firmware restarts, the simulated circuit does not)
    vanish            per request: the port disappears for `vanish_s` (0.5 s) and comes back
                      (upy://: the board process is killed and restarted, as an unplugged
                      Pico; other ports: reads and writes fail for that long)
    delay_s, vanish_s may be given as KIND:SECONDS too.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, fields
from typing import Any, Protocol

import serial

from wphil.drivers.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class FaultSpec:
    drop: float = 0.0
    flip: float = 0.0
    dup: float = 0.0
    delay: float = 0.0
    reset: float = 0.0
    vanish: float = 0.0
    delay_s: float = 0.05
    vanish_s: float = 0.5
    seed: int = 0

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> FaultSpec:
        spec = cls(seed=seed)
        names = [f.name for f in fields(cls) if f.name != "seed"]
        for item in filter(None, text.split(",")):
            kind, _, value = item.partition(":")
            if kind not in names:
                raise ConfigError(f"unknown fault {kind!r}; valid: {', '.join(names)}")
            try:
                rate = float(value)
            except ValueError:
                raise ConfigError(f"fault {kind}: {value!r} is not a number") from None
            if not math.isfinite(rate) or rate < 0 or (rate > 1 and not kind.endswith("_s")):
                raise ConfigError(f"fault {kind}: {rate} must be in 0..1 (seconds for *_s: >= 0)")
            setattr(spec, kind, rate)
        return spec

    @property
    def any(self) -> bool:
        return any((self.drop, self.flip, self.dup, self.delay, self.reset, self.vanish))


class DeviceHooks(Protocol):
    def inject_reset(self) -> None: ...
    def unplug(self, seconds: float) -> None: ...


class FaultState:
    """What the injector decided and counted; outlives the port objects it wraps."""

    def __init__(self, spec: FaultSpec, hooks: DeviceHooks | None = None) -> None:
        self.spec, self.hooks = spec, hooks
        # separate streams, so the bytes read (which vary with timing) cannot shift the
        # decisions about requests or the bytes written
        self.rng = random.Random(spec.seed)
        self.rng_tx = random.Random(spec.seed + 1)
        self.rng_rx = random.Random(spec.seed + 2)
        self.unplugged_until = 0.0
        self.counts = {k: 0 for k in ("drop", "flip", "dup", "delay", "reset", "vanish")}

    def vanished(self) -> bool:
        return time.monotonic() < self.unplugged_until

    def mangle(self, data: bytes, rng: random.Random) -> bytes:
        s, out = self.spec, bytearray()
        for b in data:
            r = rng.random()
            if r < s.drop:
                self.counts["drop"] += 1
                continue
            if r < s.drop + s.flip:
                self.counts["flip"] += 1
                b ^= 1 << rng.randrange(8)
            out.append(b)
            if rng.random() < s.dup:
                self.counts["dup"] += 1
                out.append(b)
        return bytes(out)


class FaultyPort:
    """A pyserial port whose traffic goes through a FaultState."""

    def __init__(self, port: serial.SerialBase, state: FaultState) -> None:
        self._port, self.state = port, state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    @property
    def timeout(self) -> float | None:
        return self._port.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    def _check(self) -> None:
        if self.state.vanished():
            raise serial.SerialException(f"{self._port.port}: device disconnected (injected)")

    def write(self, frame: bytes) -> int:
        self._check()
        s, st = self.state.spec, self.state
        if s.vanish and st.rng.random() < s.vanish:
            st.counts["vanish"] += 1
            st.unplugged_until = time.monotonic() + s.vanish_s
            log.info("fault: port vanishes for %.2f s", s.vanish_s)
            if st.hooks:
                st.hooks.unplug(s.vanish_s)
            self._check()
        if s.reset and st.hooks and st.rng.random() < s.reset:
            st.counts["reset"] += 1
            log.info("fault: device reset")
            st.hooks.inject_reset()
        if s.delay and st.rng.random() < s.delay:
            st.counts["delay"] += 1
            time.sleep(s.delay_s)
        self._port.write(st.mangle(frame, st.rng_tx))
        return len(frame)

    def read(self, size: int = 1) -> bytes:
        self._check()
        return self.state.mangle(self._port.read(size), self.state.rng_rx)

    @property
    def in_waiting(self) -> int:
        self._check()
        return self._port.in_waiting
