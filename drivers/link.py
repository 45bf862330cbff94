"""The host end of the wire protocol: framed requests over a pyserial port.

Every request gets a fresh sequence number; a lost, late or corrupted reply is retried
with the *same* number, so the firmware answers a repeat from its cache instead of
running the command twice. Bytes that are not a frame (boot messages, a REPL banner,
line noise) are skipped by the decoder, which resynchronises on the next valid header.

Damage is noticed fast: a BAD_CRC answer, a reply that fails its CRC or stops mid-way is
retried at once; silence is settled by a PING (see `request`); and once the line has shown
damage, requests carry filler bytes that turn a request cut short into a BAD_CRC answer.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable

import serial

from wphil.drivers.deadlines import Deadline
from wphil.drivers.errors import DeviceError, DeviceTimeout, FirmwareError, ProtocolError
from wphil.drivers.reply_timer import ReplyTimer
from wphil.drivers.wirelog import WireLog
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)

#: what MicroPython prints importing a .mpy compiled for another architecture (py/persistentcode.c)
WRONG_ARCH = b"incompatible .mpy arch"
WRONG_ARCH_HINT = ("the board's firmware files were compiled for another architecture "
                   "(MicroPython: incompatible .mpy arch): run `wphil flash`")

# Once a reply has begun, its bytes come back to back (the firmware writes it in one go):
# a gap this long means the frame lost bytes and will never complete.
STALL_S = 0.02
# Once the line has shown damage, each request is followed by filler bytes: skipped outside
# a frame, they complete a request that lost up to this many bytes on the way, whose CRC
# then fails at once (a BAD_CRC answer) instead of the firmware waiting for the rest.
FILLER = bytes(4)
# A firmware can be silent because it is inside a frame that garbage started: a bogus
# header whose check byte passed by chance, announcing a long payload that our requests and
# PINGs then fill. It drops such a frame only after its bytes stop coming for 500 ms plus
# 1 ms per 16 bytes asked for (PROTOCOL.md, MAX_PAYLOAD 8192: at most 1.0 s). So before a
# silent line counts as dead, the link goes quiet that long once, then tries again.
RESYNC_QUIET_S = 1.1
# On a damaged line a long reply is asked for in parts: a try succeeds only if request and
# reply both arrive whole (≈ (1 - e)^bytes at e damaged bytes per byte), and every frame
# sent risks the board resetting, which a request not yet answered loses. Replies are kept
# to about REPLY_DAMAGE / e bytes (e estimated as retries per byte so far): at 2x the
# README's fault rates (e ≈ 1.2 %) ~40 bytes, at 1x ~80, never under MIN_REPLY_BUDGET.
REPLY_DAMAGE = 0.5
MIN_REPLY_BUDGET = 16


class LinkLost(DeviceError):
    """The port itself failed (unplugged, closed, gone): reconnecting may help."""


class _Retry(Exception):
    """This attempt failed in a way a repeat of the same request can fix."""

    def __init__(self, why: str, kind: str) -> None:
        super().__init__(why)
        self.kind = kind     # "silent", "stalled", "corrupted" (reply), "rejected" (BAD_CRC), "lost"


class Link:
    """Request/response over one serial port, with retries by sequence number."""

    #: a gap this long inside a reply means it lost bytes (STALL_S; longer over a network)
    stall_s = STALL_S

    def __init__(self, port: serial.SerialBase, timeout: float = 2.0, retries: int = 3,
                 wire_log: WireLog | None = None) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.wire_log = wire_log
        self.timer = ReplyTimer(timeout)
        self.keepalive: float | None = None
        self.deadline: Deadline | None = None    # set by the driver while it recovers
        self.decoder = P.FrameDecoder()
        self.frames: deque = deque()
        self.seq = 0                       # of the request in flight
        self._last_seq = random.randrange(1, 0xFFFF)
        self._last_rx = 0.0                # when the last byte came
        self._unfinished = False           # the decoder holds part of a frame, or garbage
        self.noise = bytearray()           # recent non-frame bytes, for diagnostics
        self.heard = bytearray()           # the tail of the last read, frames or not
        self.wrong_arch = False            # the board said its firmware's .mpy arch is not its own
        self.stats = {"requests": 0, "retries": 0, "probes": 0, "corrupted": 0, "bytes_out": 0,
                      "bytes_in": 0}

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                on_event: Callable[[bytes], None] | None = None, seq: int | None = None,
                reply_size: int = 0, keepalive: float | None = None) -> bytes:
        """Send a command and return its reply payload; raise FirmwareError on an error reply.

        Silence is ambiguous (a lost frame, or a board still working), so after as long as
        such a request has been seen to take (`reply_size`, the expected reply payload,
        sizes it) the link sends a PING: the firmware answers in order, so a PING answered
        first means the request or its reply was lost, and it is sent again at once (as it
        is after a corrupted reply or a BAD_CRC answer). Unanswered, the wait doubles, up to
        `timeout`. DeviceTimeout when nothing came back for `timeout` seconds, or after
        `retries` retries and at least `timeout` seconds.
        An explicit `timeout` (TRAIN, which answers PING while it runs) is the longest
        silence tolerated on each of `retries + 1` attempts; progress events reset it.
        `seq` repeats an earlier request under its old number (the board answers from its
        cache if it ran it); by default the request gets the next number. `keepalive`:
        send a PING this often while waiting (TRAIN: host silence stops an on-chip run).
        """
        self.keepalive = keepalive
        self.seq = seq if seq is not None else self.next_seq()
        frame = P.encode(cmd, self.seq, payload)
        self.stats["requests"] += 1
        key = self.timer.key(cmd, len(frame) + reply_size)
        first_wait = timeout if timeout is not None else self.timer.wait(key)
        wait, start, heard = first_wait, time.monotonic(), time.monotonic()
        attempts, probes, stall_s, send = 0, set(), self.stall_s, True
        resynced = False
        timed = timeout is None     # Karn: only a reply that can only be this attempt's is timed
        while True:
            if self.deadline is not None:
                if self.deadline.left() <= 0:
                    raise DeviceTimeout(f"no valid reply to {P.COMMAND_NAMES.get(cmd, hex(cmd))}"
                                        f" before the {self.deadline.what} deadline")
                wait = self.deadline.cap(wait)
            if send:
                attempts += 1
                self.stats["retries"] += attempts > 1
                sent, send = time.monotonic(), False
                probes.clear()        # answers to older probes say nothing of this attempt
                self._write(frame + self._filler(), cmd, payload)
            try:
                reply = self._await(cmd, self.seq, wait, stall_s, on_event, probes)
            except _Retry as why:
                now = time.monotonic()
                log.info("%s seq %d: %s (attempt %d, %.2f s)", P.COMMAND_NAMES.get(cmd, hex(cmd)),
                         self.seq, why, attempts, now - start)
                silent_for = now - heard
                if why.kind == "silent" and timeout is None and silent_for < self.timeout:
                    wait = min(wait * 2, self.timeout)
                    probes.add(self._probe())
                    continue
                heard, send, wait = now, True, first_wait
                timed = timed and why.kind == "rejected"   # not run: the next one runs afresh
                stall_s *= 2 if why.kind == "stalled" else 1
                if why.kind == "silent" and timeout is None and not resynced:
                    resynced = True
                    log.info("silent for %.1f s: quiet for %.1f s so a firmware inside a bogus "
                             "frame drops it, then once more", silent_for, RESYNC_QUIET_S)
                    time.sleep(self.deadline.cap(RESYNC_QUIET_S) if self.deadline
                               else RESYNC_QUIET_S)
                    continue
                if (why.kind == "silent" and timeout is None) or (
                        attempts > self.retries and now - start >= (timeout or self.timeout)):
                    raise self._timeout(cmd, attempts, time.monotonic() - start,
                                        silent_for) from None
                continue
            if timed and not probes:
                self.timer.sample(key, time.monotonic() - sent)
            return reply

    def reply_budget(self) -> int:
        """The longest reply payload worth asking for in one request on this line so far."""
        if not self.stats["retries"]:
            return P.MAX_PAYLOAD
        per_byte = self.stats["retries"] / max(1, self.stats["bytes_in"] + self.stats["bytes_out"])
        return int(min(P.MAX_PAYLOAD, max(MIN_REPLY_BUDGET, REPLY_DAMAGE / per_byte)))

    def _probe(self) -> int:
        """Send a PING (changes nothing, never touches the reply cache); its sequence number."""
        seq = self.next_seq()
        self._write(P.encode(P.PING, seq, b"?") + self._filler(), P.PING, b"?", seq)
        self.stats["probes"] += 1
        return seq

    def _filler(self) -> bytes:
        return FILLER if self.stats["corrupted"] or self.stats["retries"] else b""

    def _timeout(self, cmd: int, attempts: int, elapsed: float, silent: float) -> DeviceTimeout:
        name = P.COMMAND_NAMES.get(cmd, hex(cmd))
        what = f", nothing at all for the last {silent:.1f} s" if silent >= self.timeout else ""
        return DeviceTimeout(f"no valid reply to {name} from {self.port.port} after {attempts} "
                             f"attempts in {elapsed:.1f} s{what}{self._noise_hint()}")

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def continue_from(self, seq: int) -> None:
        """Carry on an earlier link's sequence numbers with the same board (a farm bench held
        across jobs: drivers/held_bench.py), so its reply cache never takes a new request
        for an old one."""
        self._last_seq = seq

    def unread(self) -> bool:
        """Whether anything came beyond the last reply (frames, part of one, or bytes
        waiting in the port)."""
        try:
            waiting = self.port.in_waiting
        except (serial.SerialException, OSError, AttributeError):
            return True
        return bool(self.frames or self._unfinished or waiting)

    def next_seq(self) -> int:
        """A fresh sequence number (1..65535, wrapping)."""
        self._last_seq = self._last_seq % 0xFFFF + 1
        return self._last_seq

    def attach(self, port: serial.SerialBase) -> None:
        """Use a (re)opened port; sequence numbers, statistics and timings carry on."""
        self.port = port
        self._forget_partial()
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
        self._forget_partial()
        return bytes(junk)

    # -- internals ----------------------------------------------------------------------
    def _forget_partial(self) -> None:
        self.decoder = P.FrameDecoder()
        self._unfinished = False

    def _write(self, frame: bytes, cmd: int, payload: bytes, seq: int | None = None) -> None:
        if self.wire_log:
            self.wire_log.frame("TX", cmd, 0, self.seq if seq is None else seq, payload)
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

    def _next_frame(self, deadline: float, stall_s: float) -> tuple | None:
        """The next decoded item; None at the deadline; _Retry if a frame stopped mid-way."""
        while not self.frames:
            now = time.monotonic()
            if now >= deadline:
                return None
            if self._unfinished and now - self._last_rx >= stall_s:
                # the firmware writes a reply in one go: bytes that stop coming for this
                # long belong to a frame that lost bytes (or to garbage); it never completes
                self._forget_partial()
                raise _Retry("the reply stopped mid-way", "stalled")
            data = self._read(min(deadline - now, stall_s if self._unfinished else 0.1))
            if data:
                self._last_rx = time.monotonic()
                heard = self.heard + data          # the message may straddle two reads
                if WRONG_ARCH in heard:            # main.py's imports failed at boot
                    self.wrong_arch = True
                self.heard = heard[-len(WRONG_ARCH):]
                skipped = self.decoder.skipped
                frames = self.decoder.feed(data)
                self.wrong_arch = self.wrong_arch and not frames
                self.frames.extend(frames)
                if self.decoder.skipped > skipped:
                    self.noise = (self.noise + data)[-256:]
                self._unfinished = bool(self.decoder.buf)
                if self.wire_log:
                    self._log_rx(frames, data, self.decoder.skipped - skipped)
                if self.wrong_arch:                # no firmware will answer: waiting is useless
                    raise DeviceError(f"{self.port.port}: {WRONG_ARCH_HINT}")
        return self.frames.popleft()

    def _log_rx(self, frames: list, data: bytes, skipped: int) -> None:
        if skipped:
            self.wire_log.noise(data)
        for f in frames:
            if f[0] == "crc":
                self.wire_log.note(f"RX frame seq={f[1]} failed its CRC")
            else:
                self.wire_log.frame("RX", *f)

    def _await(self, cmd: int, seq: int, timeout: float, stall_s: float,
               on_event: Callable[[bytes], None] | None, probes: set[int]) -> bytes:
        deadline = time.monotonic() + timeout
        corrupted = False
        ping_at = time.monotonic() + self.keepalive if self.keepalive else float("inf")
        while True:
            if corrupted and not self.frames:
                raise _Retry("reply failed its CRC", "corrupted")
            frame = self._next_frame(min(deadline, ping_at), stall_s)
            if frame is None and time.monotonic() < deadline:
                self._probe()                   # keepalive: the host is still there
                ping_at = time.monotonic() + self.keepalive
                continue
            if frame is None:
                raise _Retry(f"no reply within {timeout:.2f} s", "silent")
            if frame[0] == "crc":
                self.stats["corrupted"] += 1
                corrupted = corrupted or frame[1] == seq or frame[1] in probes
                continue
            r_cmd, flags, r_seq, payload = frame
            if r_seq in probes and r_cmd == P.PING and flags & P.F_REPLY:
                raise _Retry("a PING sent after it was answered first: it was lost", "lost")
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
                    raise _Retry("the device saw a corrupted or truncated request", "rejected")
                raise FirmwareError(code, message)
            return payload

    def _noise_hint(self) -> str:
        text = bytes(self.noise)
        if self.wrong_arch:
            return "; " + WRONG_ARCH_HINT
        if b">>>" in text or b"MicroPython" in text or b"raw REPL" in text:
            return ("; the board answers with the MicroPython REPL, not the wphil firmware "
                    "(run `wphil flash`)")
        return ""
