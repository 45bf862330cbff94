"""The host end of the wire protocol: framed requests over a pyserial port.

Every request gets a fresh sequence number; a lost, late or corrupted reply is retried
with the *same* number, so the firmware answers a repeat from its cache instead of
running the command twice. Bytes that are not a frame (boot messages, a REPL banner,
line noise) are skipped by the decoder, which resynchronises on the next valid header.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable

import serial

from wphil.drivers.errors import DeviceError, DeviceTimeout, FirmwareError, ProtocolError
from wphil.drivers.wirelog import WireLog
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)


class LinkLost(DeviceError):
    """The port itself failed (unplugged, closed, gone): reconnecting may help."""


class _Retry(Exception):
    """This attempt failed in a way a repeat of the same request can fix."""


class Link:
    """Request/response over one serial port, with retries by sequence number."""

    def __init__(self, port: serial.SerialBase, timeout: float = 2.0, retries: int = 3,
                 wire_log: WireLog | None = None) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.wire_log = wire_log
        self.decoder = P.FrameDecoder()
        self.frames: deque = deque()
        self.seq = 0                       # of the request in flight
        self._last_seq = random.randrange(1, 0xFFFF)
        self.noise = bytearray()           # recent non-frame bytes, for diagnostics
        self.stats = {"requests": 0, "retries": 0, "corrupted": 0, "bytes_out": 0, "bytes_in": 0}

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                on_event: Callable[[bytes], None] | None = None, seq: int | None = None) -> bytes:
        """Send a command and return its reply payload; raise FirmwareError on an error reply.

        `timeout` is the longest silence tolerated while waiting (progress events reset it).
        `seq` repeats an earlier request under its old number (the board answers from its
        cache if it ran it); by default the request gets the next number.
        """
        self.seq = seq if seq is not None else self.next_seq()
        frame = P.encode(cmd, self.seq, payload)
        name = P.COMMAND_NAMES.get(cmd, hex(cmd))
        self.stats["requests"] += 1
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            self._write(frame, cmd, payload)
            try:
                return self._await(cmd, self.seq, timeout or self.timeout, on_event)
            except _Retry as why:
                log.info("%s seq %d: %s (attempt %d of %d)", name, self.seq, why, attempt + 1,
                         self.retries + 1)
        raise DeviceTimeout(f"no valid reply to {name} from {self.port.port} after "
                            f"{self.retries + 1} attempts{self._noise_hint()}")

    def next_seq(self) -> int:
        """A fresh sequence number (1..65535, wrapping)."""
        self._last_seq = self._last_seq % 0xFFFF + 1
        return self._last_seq

    def attach(self, port: serial.SerialBase) -> None:
        """Use a (re)opened port; sequence numbers and statistics carry on."""
        self.port = port
        self.decoder = P.FrameDecoder()
        self.frames.clear()

    def drain(self, quiet: float = 0.05) -> bytes:
        """Discard whatever the device sent unasked (boot text, stale replies)."""
        junk = bytearray()
        self.frames.clear()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            data = self._read(quiet)
            if not data:
                break
            junk += data
        self.decoder = P.FrameDecoder()
        return bytes(junk)

    # -- internals ----------------------------------------------------------------------
    def _write(self, frame: bytes, cmd: int, payload: bytes) -> None:
        if self.wire_log:
            self.wire_log.frame("TX", cmd, 0, self.seq, payload)
        try:
            self.port.write(frame)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"{self.port.port}: write failed: {exc}") from None
        self.stats["bytes_out"] += len(frame)

    def _read(self, timeout: float) -> bytes:
        try:
            self.port.timeout = timeout
            data = self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"{self.port.port}: read failed: {exc}") from None
        if data:
            self.stats["bytes_in"] += len(data)
        return data

    def _next_frame(self, deadline: float) -> tuple | None:
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = self._read(min(remaining, 0.1))
            if data:
                skipped = self.decoder.skipped
                frames = self.decoder.feed(data)
                self.frames.extend(frames)
                if self.decoder.skipped > skipped:
                    self.noise = (self.noise + data)[-256:]
                if self.wire_log:
                    self._log_rx(frames, data, self.decoder.skipped - skipped)
        return self.frames.popleft()

    def _log_rx(self, frames: list, data: bytes, skipped: int) -> None:
        if skipped:
            self.wire_log.noise(data)
        for f in frames:
            if f[0] == "crc":
                self.wire_log.note(f"RX frame seq={f[1]} failed its CRC")
            else:
                self.wire_log.frame("RX", *f)

    def _await(self, cmd: int, seq: int, timeout: float,
               on_event: Callable[[bytes], None] | None) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                raise _Retry(f"no reply within {timeout:.1f} s")
            if frame[0] == "crc":
                self.stats["corrupted"] += 1
                if frame[1] == seq:
                    raise _Retry("reply failed its CRC")
                continue
            r_cmd, flags, r_seq, payload = frame
            if not flags & P.F_REPLY or r_seq != seq:
                log.debug("ignoring frame cmd 0x%02x seq %d flags 0x%02x", r_cmd, r_seq, flags)
                continue
            if r_cmd != cmd:
                raise ProtocolError(f"reply to seq {seq} is for command 0x{r_cmd:02x}, "
                                    f"not 0x{cmd:02x}")
            if flags & P.F_EVENT:
                if on_event:
                    on_event(payload)
                deadline = time.monotonic() + timeout
                continue
            if flags & P.F_ERROR:
                code = payload[0] if payload else 0
                message = payload[1:].decode(errors="replace")
                if code in (P.ERR_BAD_CRC, P.ERR_TRUNCATED):
                    self.stats["corrupted"] += 1
                    raise _Retry("the device saw a corrupted or truncated request")
                raise FirmwareError(code, message)
            return payload

    def _noise_hint(self) -> str:
        text = bytes(self.noise)
        if b">>>" in text or b"MicroPython" in text or b"raw REPL" in text:
            return ("; the board answers with the MicroPython REPL, not the wphil firmware "
                    "(run `wphil flash`)")
        return ""
