# The USB CDC serial line (stdin/stdout) as a binary stream for the server.
#
# stdin is binary only while Ctrl-C is disabled (micropython.kbd_intr(-1)); the server
# does that while serving. Reads wait with select.poll, then readinto. On the Pico,
# readinto blocks until the buffer is full; under the unix port on a non-blocking pty
# it returns what is there (or None), so every read is "at least one byte, at most n".
import select
import sys

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
