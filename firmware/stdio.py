# The USB CDC serial line (stdin/stdout) as a binary stream for the server.
#
# stdin is binary only while Ctrl-C is disabled (micropython.kbd_intr(-1)); the server
# does that while serving. Reads wait with select.poll, then readinto, and every read is
# "at least one byte, at most n, or 0 after timeout_ms". Under the unix port on a
# non-blocking pty, readinto returns what is there (or None): that is Stdio. On a Pico,
# readinto blocks until the buffer is full, however long the host stays silent, so a
# truncated frame would hang the server until the watchdog: that is PicoStdio.
import os
import select
import sys
import time

try:
    from io import IOBase
except ImportError:          # a port built without io.IOBase: PicoStdio is then unusable
    IOBase = object

try:
    from errno import EAGAIN
except ImportError:
    EAGAIN = 11


class Stdio:
    def __init__(self):
        self.rx = sys.stdin.buffer
        self.tx = sys.stdout.buffer
        self.poller = select.poll()
        self.poller.register(sys.stdin, select.POLLIN)
        self.out_poller = select.poll()
        self.out_poller.register(sys.stdout, select.POLLOUT)

    def readable(self, timeout_ms):
        return bool(self.poller.poll(timeout_ms))

    def readinto(self, mv, timeout_ms):
        """Read at least 1 and at most len(mv) bytes; 0 if none came within timeout_ms."""
        if not self.poller.poll(timeout_ms):
            return 0
        try:
            n = self.rx.readinto(mv)
        except OSError as exc:
            if exc.errno == EAGAIN:
                return 0
            raise
        return n or 0

    def write(self, data):
        """Write everything, waiting for room if the line is non-blocking and full."""
        mv = memoryview(data)
        while len(mv):
            try:
                n = self.tx.write(mv)
            except OSError as exc:
                if exc.errno != EAGAIN:
                    raise
                n = 0
            if not n:
                self.out_poller.poll(100)
                continue
            mv = mv[n:]

    def close(self):
        """Stop serving: nothing to undo on the unix port."""


# A blocked stdin read on the rp2 port loops: take a byte from the USB ring buffer, else ask
# the os.dupterm streams, else sleep until an interrupt. _StallGuard is such a stream: it has
# nothing to give until its deadline passes, then it hands out filler bytes (counted) so the
# read returns; a periodic Timer wakes the loop to ask it. A bulk read costs one deadline
# write, not a Python call per byte; past the deadline the reader gets a short count.
_TICK_MS = 20
_MIN_RATE = 16       # bytes per ms any healthy host sustains (USB full speed: ~1000)


class _StallGuard(IOBase):
    def __init__(self):
        self.deadline = None
        self.filled = 0

    def readinto(self, buf):
        d = self.deadline
        if d is None or time.ticks_diff(time.ticks_ms(), d) < 0:
            return None                       # "would block": the read keeps waiting
        buf[0] = 0
        self.filled += 1
        return 1

    def write(self, buf):
        return len(buf)                       # dupterm echoes stdout here: dropped

    def ioctl(self, req, arg):
        return 0


def _wake(timer):
    pass


class PicoStdio(Stdio):
    """USB CDC stdin on the rp2 port: bulk reads that give up after a stall."""

    def __init__(self):
        super().__init__()
        import machine
        self.guard = _StallGuard()
        self.timer = machine.Timer(mode=machine.Timer.PERIODIC, period=_TICK_MS, callback=_wake)
        self.previous = os.dupterm(self.guard)

    def readinto(self, mv, timeout_ms):
        if not self.poller.poll(timeout_ms):
            return 0
        n = len(mv)
        if n == 1:                            # poll saw a byte: this read cannot block
            return self.rx.readinto(mv)
        guard = self.guard
        guard.filled = 0
        guard.deadline = time.ticks_add(time.ticks_ms(), timeout_ms + n // _MIN_RATE)
        self.rx.readinto(mv)
        guard.deadline = None
        return n - guard.filled

    def close(self):
        self.timer.deinit()
        os.dupterm(self.previous)
