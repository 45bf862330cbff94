# MCP4728: quad 12-bit DAC on I2C (0x60..0x67). Datasheet DS22187E.
#
# Only commands that leave the EEPROM alone are used in the loop: the Fast Write
# (2 bytes per channel from A on, one transaction) and the Multi-Write (3 bytes per channel).
# The EEPROM endures about 1e6 writes; a training run would burn through that in
# minutes, so "Sequential/Single Write" (which also program EEPROM) are never sent.
# LDAC is low (a pull-down) except in a paced SEQUENCE, which holds the input chip's LDAC
# high while stage() writes the next step's input with UDAC = 1, then drops it at the sample
# instant: Table 4-5, LDAC 1 UDAC 1 "no update", LDAC 0 "update all DAC channel outputs".
# write_mask() sends the shorter of the two for the channels that changed (kernels.pack:
# a Fast Write may stop after the last changed channel, Fig. 5-7; a Multi-Write carries
# only the changed channels, Fig. 5-8), from buffers and memoryviews made once.
import emit
from micropython import const

_WRITE_VREF = const(0x80)    # 1 0 0 X VREFA VREFB VREFC VREFD
_WRITE_GAIN = const(0xC0)    # 1 1 0 X GA GB GC GD
CHANNELS = const(4)
MAX_CODE = const(4095)


class MCP4728:
    def __init__(self, i2c, address=0x60, internal_vref=True):
        self.i2c = i2c
        self.address = address
        self.internal_vref = internal_vref
        self._read = bytearray(24)
        self._stage = bytearray(3)
        self._buf = bytearray(12)                       # a Multi-Write of 4 channels
        self._views = [memoryview(self._buf)[:n] for n in range(13)]
        self._vref = 0x80 if internal_vref else 0x00
        self._pack = emit.kernels().pack
        self.configure()

    def configure(self):
        """Reference (internal 2.048 V or VDD) and gain x1 on all channels; volatile only."""
        vref = 0x0F if self.internal_vref else 0x00
        self.i2c.writeto(self.address, bytes((_WRITE_VREF | vref,)))
        self.i2c.writeto(self.address, bytes((_WRITE_GAIN,)))

    def write_mask(self, codes, first, mask):
        """The channels in `mask` (bit c: channel c, code codes[first + c]) in the fewest
        bytes; codes is an array('H')."""
        n = self._pack(self._buf, codes, first, mask, self._vref)
        self.i2c.writeto(self.address, self._views[n])

    def stage(self, channel, code):
        """A Multi-Write of one channel with UDAC = 1 (Fig. 5-8): its input register takes
        the code; with LDAC high the output keeps the old one until LDAC falls."""
        buf = self._stage
        buf[0] = 0x40 | (channel << 1) | 1
        buf[1] = self._vref | (code >> 8)
        buf[2] = code & 0xFF
        self.i2c.writeto(self.address, buf)

    def read_codes(self):
        """The four DAC register codes, read back from the chip (for STATUS and tests)."""
        self.i2c.readfrom_into(self.address, self._read)
        buf = self._read
        return [((buf[6 * ch + 1] & 0x0F) << 8) | buf[6 * ch + 2] for ch in range(4)]
