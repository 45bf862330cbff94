# ADS1115: 16-bit delta-sigma ADC on I2C (0x48..0x4B), 4 single-ended inputs (TI SBAS444E).
# Single-shot conversions: write the Config register with OS=1, wait, read the Conversion
# register. Single-ended readings are 0..32767 for 0..FS: a 15-bit code.
#
# The wait: a conversion takes one data period, 1/DR, after the device powers up from its
# power-down state (SBAS444E "Single-Shot Mode"; the duty-cycling example: "a conversion at
# 860SPS only requires approximately 1.2ms"), and the data rate itself is only specified
# within a tolerance. So the driver sleeps the nominal 1/DR, then polls the Config register's
# OS bit (bit 15; when read, 0 = "currently performing a conversion", 1 = not: SBAS444E
# Config register description) and reads the result only once OS reads 1.
import time

from micropython import const

_REG_CONVERSION = const(0x00)
_REG_CONFIG = const(0x01)
_OS_START = const(0x8000)
_MODE_SINGLE = const(0x0100)
_COMP_DISABLE = const(0x0003)
_POLL_US = const(50)
_SLACK_US = const(2000)     # beyond 1/DR: start-up and the data-rate tolerance, with margin
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
        self.wait_us = sleep_us if sleep_us is not None else 1000000 // rate
        self.polls = (1000000 // rate + _SLACK_US) // _POLL_US
        self._cfg = bytearray(2)
        self._val = bytearray(2)
        self.oversample = 1

    @property
    def channels(self):
        return 4

    def _wait_conversion(self):
        time.sleep_us(self.wait_us)
        for _ in range(self.polls):
            self.i2c.readfrom_mem_into(self.address, _REG_CONFIG, self._val)
            if self._val[0] & 0x80:                   # OS = 1: conversion done
                return
            time.sleep_us(_POLL_US)
        raise OSError("ADS1115 at 0x%02x: conversion not done after %d us"
                      % (self.address, self.wait_us + self.polls * _POLL_US))

    def read(self, channel):
        cfg = self.base | ((4 + channel) << 12)       # MUX = AINx vs GND
        self._cfg[0] = cfg >> 8
        self._cfg[1] = cfg & 0xFF
        self.i2c.writeto_mem(self.address, _REG_CONFIG, self._cfg)
        self._wait_conversion()
        self.i2c.readfrom_mem_into(self.address, _REG_CONVERSION, self._val)
        raw = (self._val[0] << 8) | self._val[1]
        return 0 if raw & 0x8000 else raw             # below ground reads as code 0
