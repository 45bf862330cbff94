"""The short forms a reconnect uses (protocol 2): the brief HELLO and the short CONFIGURE.

A reconnect on a damaged line must get a few frames through between resets. The full
HELLO reply (JSON, ~300 bytes) and the object-form CONFIGURE (~415 bytes for XOR) are
each damaged in transit far more often than the 9-byte brief HELLO reply and the ~150-byte
list-form CONFIGURE (PROTOCOL.md, "Short forms"); at twice the README's fault rates (a
byte dropped, flipped or doubled about once in 85) the long frames almost never survive.
The first connect still asks for the full HELLO, whose details (files, board, mpy) are
kept; later handshakes ask only what tells a reset apart.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from wphil.drivers.errors import ConfigError, DeviceError
from wphil.firmware import protocol as P


def brief_hello(reply: bytes, details: dict[str, Any]) -> dict[str, Any]:
    """The brief HELLO reply as the full one's keys, the rest taken from `details`."""
    if len(reply) != struct.calcsize(P.HELLO_BRIEF_FORMAT):
        raise DeviceError(f"brief HELLO reply of {len(reply)} bytes, expected "
                          f"{struct.calcsize(P.HELLO_BRIEF_FORMAT)}: run `wphil flash`")
    protocol, major, minor, patch, boot_id, flags = struct.unpack(P.HELLO_BRIEF_FORMAT, reply)
    return {**details, "protocol": protocol, "firmware": f"{major}.{minor}.{patch}",
            "boot_id": boot_id, "configured": bool(flags & 1), "safe": bool(flags & 2)}


def short_config(config: dict[str, Any]) -> bytes:
    """A CONFIGURE object (drivers/serial_device.firmware_config) in the short list form:
    a field it leaves out is null (the firmware's default), trailing nulls dropped."""
    unknown = set(config) - set(P.CONFIG_ORDER)
    if unknown:
        raise ValueError(f"CONFIGURE fields the short form does not have: {sorted(unknown)}")
    values = [config.get(k) for k in P.CONFIG_ORDER]
    for name, order in (("dac", P.DAC_ORDER), ("adc", P.ADC_ORDER)):
        values[P.CONFIG_ORDER.index(name)] = [config[name].get(k) for k in order]
    while values and values[-1] is None:
        values.pop()
    return json.dumps(values, separators=(",", ":")).encode()


def sequence_rows(reply_rows: int, steps: int, step_us: int, reset_us: int) -> int:
    """How many weight vectors one SEQUENCE request may carry: as many as fit one reply
    (`reply_rows`) and pace in at most MAX_SEQUENCE_US (the firmware refuses more);
    ConfigError, one line, if not even one does."""
    per_row = reset_us + steps * step_us
    if per_row > P.MAX_SEQUENCE_US:
        raise ConfigError(f"a sequence of {steps} steps x {step_us} us (+ {reset_us} us reset) "
                          f"paces {per_row / 1e6:g} s, over the {P.MAX_SEQUENCE_US / 1e6:g} s one "
                          "SEQUENCE request may hold the board: shorten it")
    return min(reply_rows, P.MAX_SEQUENCE_US // max(per_row, 1))


def sequence_timeout(rows: int, steps: int, step_us: int, reset_us: int,
                     reply_timeout: float, factor: float = 2.0) -> float | None:
    """An explicit wait for a SEQUENCE reply whose pacing, `factor` wall seconds per paced
    second (2 for a Pico, which paces in real time; more for an emulated one), is longer
    than half the reply timeout (the board answers no PING meanwhile); None: the link's
    own timing."""
    busy_s = factor * rows * (reset_us + steps * step_us) / 1e6
    return reply_timeout + busy_s if busy_s > reply_timeout / 2 else None
