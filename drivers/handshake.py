"""The wire protocol without a bench: is the wphil firmware there, and send it back to the REPL.

`wphil flash` and `wphil devices` open ports whose boards may be running the firmware, or
sitting at MicroPython's REPL, or booting. `SerialDevice` is for a board known to run the
firmware (it configures a bench on connect); this module only says HELLO, EXIT and STOP,
with frames that are harmless to a REPL, and never disturbs a board that answers.
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

import serial

from wphil.drivers.errors import DeviceError
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)

# Bytes MicroPython's REPL acts on: Ctrl-B..Ctrl-E leave the raw REPL, interrupt, soft-reset
# (which reruns main.py) or start paste mode; CR and LF run the line typed so far. A frame sent
# to a board that may be at its REPL must hold none of them. 0x03 matters even more on a
# booting Pico: until the firmware disables Ctrl-C, the USB stack turns every 0x03 that
# arrives into a KeyboardInterrupt in main.py. Frames differ only by SEQ, so pick a SEQ whose
# header and CRC avoid them all. The command byte itself cannot change: HELLO is 0x01, Ctrl-A,
# which at most puts a REPL into raw mode, where the rest of the frame waits harmlessly until
# mpremote's Ctrl-C clears it; STOP (0x0A) only ever goes to a firmware that has answered.
REPL_CONTROL = frozenset(b"\x02\x03\x04\x05\r\n")
ANSWER_S = 0.3          # a running firmware answers in ms, even over USB full speed
# After EXIT the firmware still puts the DACs safe before main.py returns; Ctrl-C from
# mpremote arriving in that window would interrupt it, so give it a moment.
EXIT_SETTLE_S = 0.2
CTRL_C_TWICE = b"\x03\x03"     # the firmware's other way out (outside a frame)
QUIET_S = 0.1                 # ...which counts only after 50 ms of line silence (PROTOCOL.md)
# HELLO ignores its payload; its length byte must not be a REPL control (5 would be Ctrl-E)
HELLO_PAYLOAD = b"wphil-hello"


def repl_safe_frame(cmd: int, payload: bytes = b"", start: int | None = None) -> tuple[int, bytes]:
    """(seq, frame) for `cmd` whose bytes, but for the command byte, hold no REPL control."""
    seq = start if start is not None else random.randrange(1, 0xFFFF)
    for _ in range(0xFFFF):
        frame = P.encode(cmd, seq, payload)
        if REPL_CONTROL.isdisjoint(frame[:2]) and REPL_CONTROL.isdisjoint(frame[3:]):
            return seq, frame
        seq = seq % 0xFFFF + 1
    raise ValueError(f"no REPL-safe frame for command 0x{cmd:02x} and this payload")


class Probe:
    """Requests to whatever is on `port`, keeping what it said that was not a frame."""

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port
        self.decoder = P.FrameDecoder()
        self.noise = bytearray()          # the last bytes received (a REPL, a traceback)

    def request(self, cmd: int, payload: bytes = b"", timeout: float = ANSWER_S,
                attempts: int = 2) -> tuple[int, bytes] | None:
        """(flags, payload) of the reply, or None if nothing answered."""
        seq, frame = repl_safe_frame(cmd, payload)
        for _ in range(attempts):
            self._write(frame)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for item in self.decoder.feed(self._read(deadline)):
                    if item[0] != "crc" and item[2] == seq and item[0] == cmd \
                            and item[1] & P.F_REPLY and not item[1] & P.F_EVENT:
                        return item[1], item[3]
        return None

    def hello(self, timeout: float = ANSWER_S, attempts: int = 2) -> dict[str, Any] | None:
        reply = self.request(P.HELLO, HELLO_PAYLOAD, timeout, attempts)
        if reply is None or reply[0] & P.F_ERROR:
            return None
        return json.loads(reply[1])

    def said(self) -> str:
        """What the board printed, as one line for an error message: its last error if any."""
        text = bytes(self.noise).decode(errors="replace").replace("\r", "")
        lines = [ln.strip() for ln in text.split("\n")]
        lines = [ln for ln in lines if ln and ln not in (">>>", ">") and "REPL" not in ln]
        errors = [ln for ln in lines if "Error" in ln or "Exception" in ln]
        return (errors or lines or [""])[-1][-160:]

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"{self.port.port}: write failed: {exc}") from None

    def _read(self, deadline: float) -> bytes:
        try:
            self.port.timeout = max(0.0, min(0.05, deadline - time.monotonic()))
            data = self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"{self.port.port}: read failed: {exc}") from None
        if data:
            self.noise = (self.noise + data)[-512:]
        return data


def leave_firmware(port: serial.SerialBase) -> dict[str, Any] | None:
    """Bring the board back to MicroPython's REPL; the HELLO of the firmware that ran, if any.

    A running firmware gets EXIT, after STOP if it is training on chip (it then answers
    every command but STOP, PING and STATUS with BUSY, and reads Ctrl-C only as frame bytes).
    A board that does not answer gets Ctrl-C twice, the firmware's own way out, which also
    interrupts any other program; at the REPL those bytes only cancel a line.
    """
    probe = Probe(port)
    reply = probe.request(P.HELLO, HELLO_PAYLOAD)
    if reply is not None and _is_busy(reply):
        log.info("%s: the firmware is training on chip: sending STOP", port.port)
        probe.request(P.STOP)
        reply = probe.request(P.HELLO, HELLO_PAYLOAD)
    if reply is None or reply[0] & P.F_ERROR:
        log.info("%s: the wphil firmware does not answer; sending Ctrl-C twice", port.port)
        time.sleep(QUIET_S)
        probe._write(CTRL_C_TWICE)
        return None
    hello = json.loads(reply[1])
    log.info("%s: firmware %s (files %s) is running: sending EXIT", port.port,
             hello.get("firmware"), hello.get("files"))
    reply = probe.request(P.EXIT)
    if reply is None or reply[0] & P.F_ERROR:
        log.warning("%s: the firmware did not accept EXIT; sending Ctrl-C twice", port.port)
        time.sleep(QUIET_S)
        probe._write(CTRL_C_TWICE)
    time.sleep(EXIT_SETTLE_S)
    return hello


def _is_busy(reply: tuple[int, bytes]) -> bool:
    return bool(reply[0] & P.F_ERROR) and reply[1][:1] == bytes((P.ERR_BUSY,))


def await_hello(port: serial.SerialBase, timeout: float) -> dict[str, Any]:
    """HELLO, repeated until the firmware answers (it may still be booting)."""
    probe = Probe(port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hello = probe.hello(timeout=0.5, attempts=1)
        if hello is not None:
            return hello
    said = probe.said()
    raise DeviceError(f"{port.port}: the firmware did not answer the handshake within "
                      f"{timeout:.0f} s of the reset" + (f"; the board printed: {said}" if said
                                                        else ""))
