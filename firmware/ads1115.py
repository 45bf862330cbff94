# ADS1115: 16-bit delta-sigma ADC on I2C (0x48..0x4B), 4 single-ended inputs.
# Single-shot conversions: write the config register with OS=1, wait 1/DR, read the
# conversion register. Single-ended readings are 0..32767 for 0..FS: a 15-bit code.
import time

from micropython import const

_REG_CONVERSION = const(0x00)
_REG_CONFIG = const(0x01)
_OS_START = const(0x8000)
_MODE_SINGLE = const(0x0100)
_COMP_DISABLE = const(0x0003)
# full-scale volts -> PGA bits (config[11:9])
PGA = {6.144: 0x0000, 4.096: 0x0200, 2.048: 0x0400, 1.024: 0x0600, 0.512: 0x0800, 0.256: 0x0A00}
# samples per second -> DR bits (config[7:5])
DATA_RATE = {8: 0x00, 16: 0x20, 32: 0x40, 64: 0x60, 128: 0x80, 250: 0xA0, 475: 0xC0, 860: 0xE0}


class ADS1115:
    BITS = 15

    def __init__(self, i2c, address=0x48, full_scale=4.096, rate=860, sleep_us=None):
        if full_scale not in PGA or rate not in DATA_RATE:
            raise ValueError("ADS1115: full_scale must be one of %s V, rate one of %s SPS"
                             % (sorted(PGA), sorted(DATA_RATE)))
        self.i2c = i2c
        self.address = address
        self.base = _OS_START | PGA[full_scale] | _MODE_SINGLE | DATA_RATE[rate] | _COMP_DISABLE
        self.wait_us = sleep_us if sleep_us is not None else 1000000 // rate + 100
        self._cfg = bytearray(2)
        self._val = bytearray(2)
        self.oversample = 1

    @property
    def channels(self):
        return 4

    def read(self, channel):
        cfg = self.base | ((4 + channel) << 12)       # MUX = AINx vs GND
        self._cfg[0] = cfg >> 8
        self._cfg[1] = cfg & 0xFF
        self.i2c.writeto_mem(self.address, _REG_CONFIG, self._cfg)
        time.sleep_us(self.wait_us)
        self.i2c.readfrom_mem_into(self.address, _REG_CONVERSION, self._val)
        raw = (self._val[0] << 8) | self._val[1]
        return 0 if raw & 0x8000 else raw             # below ground reads as code 0
