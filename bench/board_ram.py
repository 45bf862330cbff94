"""What the rp2040:// benchmark scripts run on the emulated board's raw REPL in common: the
firmware's server fed from RAM instead of the USB line (so a measurement times the firmware,
not the host link), and a stand-in for the board object the server expects."""

# MicroPython source: a stream the server reads requests from and writes replies to (dropped)
MEMIO = r"""
class MemIO:
    def __init__(self): self.data, self.pos = b'', 0
    def readable(self, t): return self.pos < len(self.data)
    def readinto(self, mv, t):
        n = min(len(mv), len(self.data) - self.pos)
        if n <= 0: return 0
        mv[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n
    def write(self, b): pass
    def close(self): pass
class Board: pass
"""
