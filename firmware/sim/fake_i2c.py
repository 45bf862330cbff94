# Simulated I2C: a bus and the chips on it, answering the same byte sequences the real
# parts do. A missing address raises OSError(ENODEV), as machine.I2C does on a NACK.
ENODEV = 19
EIO = 5


class FakeI2C:
    def __init__(self):
        self.devices = {}
        self.transactions = 0

    def attach(self, address, device):
        self.devices[address] = device

    def scan(self):
        return sorted(self.devices)

    def _device(self, addr):
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(ENODEV)
        self.transactions += 1
        return dev

    def writeto(self, addr, buf, stop=True):
        self._device(addr).write(bytes(buf))
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr).read_into(buf)

    def writeto_mem(self, addr, reg, buf):
        self._device(addr).write(bytes((reg,)) + bytes(buf))

    def readfrom_mem_into(self, addr, reg, buf):
        dev = self._device(addr)
        dev.write(bytes((reg,)))
        dev.read_into(buf)


class FakeMCP4728:
    """Decodes Fast Write, Multi-Write, Vref and Gain commands; counts EEPROM writes.
    LDAC (DS22187E Table 4-5): a Multi-Write with UDAC = 1 while LDAC is high fills only
    the channel's input register; LDAC falling uploads every input register to its output."""

    def __init__(self, network, first_channel, vdd=3.3, ldac_gpio=-1):
        self.net, self.first, self.vdd = network, first_channel, vdd
        self.ldac_gpio, self.ldac_high, self.held = ldac_gpio, False, {}
        self.codes = [0, 0, 0, 0]
        self.vref = [0, 0, 0, 0]       # 1: internal 2.048 V
        self.gain = [0, 0, 0, 0]       # 1: x2
        self.eeprom_writes = 0

    def _set(self, ch, code):
        self.codes[ch] = code
        full = (2.048 * (2 if self.gain[ch] else 1)) if self.vref[ch] else self.vdd
        self.net.set_code(self.first + ch, code, full)

    def write(self, buf):
        first = buf[0]
        if first & 0xC0 == 0x00:                     # Fast Write: 2 bytes per channel, A..D
            for i in range(0, len(buf) - 1, 2):
                self._set((i // 2) % 4, ((buf[i] & 0x0F) << 8) | buf[i + 1])
        elif first & 0xF8 == 0x40:                   # Multi-Write: 3 bytes per channel
            for i in range(0, len(buf) - 2, 3):
                ch = (buf[i] >> 1) & 0x03
                self.vref[ch] = buf[i + 1] >> 7
                self.gain[ch] = (buf[i + 1] >> 4) & 1
                code = ((buf[i + 1] & 0x0F) << 8) | buf[i + 2]
                if buf[i] & 1 and self.ldac_high:    # UDAC = 1, LDAC high: no update
                    self.held[ch] = code
                else:
                    self.held.pop(ch, None)
                    self._set(ch, code)
        elif first & 0xF8 in (0x50, 0x58):           # Sequential / Single Write: EEPROM too
            self.eeprom_writes += 1
            raise OSError(EIO)                       # the firmware must never send these
        elif first & 0xF0 == 0x80:
            self.vref = [(first >> (3 - ch)) & 1 for ch in range(4)]
            self._refresh()
        elif first & 0xF0 == 0xC0:
            self.gain = [(first >> (3 - ch)) & 1 for ch in range(4)]
            self._refresh()
        elif first & 0xF0 == 0xA0:                   # power-down bits: ignored
            pass
        else:
            raise OSError(EIO)

    def ldac(self, level):
        high = bool(level)
        if self.ldac_high and not high:
            for ch, code in self.held.items():
                self._set(ch, code)
            self.held = {}
        self.ldac_high = high

    def _refresh(self):
        for ch in range(4):
            self._set(ch, self.codes[ch])

    def read_into(self, buf):
        for ch in range(4):
            if 6 * ch + 2 < len(buf):
                buf[6 * ch] = 0xC0 | (ch << 4)
                buf[6 * ch + 1] = (self.vref[ch] << 7) | (self.gain[ch] << 4) | (self.codes[ch] >> 8)
                buf[6 * ch + 2] = self.codes[ch] & 0xFF


class FakeADS1115:
    """Config register starts a single-shot conversion; the conversion register reads it."""

    FULL_SCALE = {0: 6.144, 1: 4.096, 2: 2.048, 3: 1.024, 4: 0.512, 5: 0.256}

    def __init__(self, network):
        self.net, self.reg, self.result = network, 0, 0

    def write(self, buf):
        self.reg = buf[0]
        if self.reg == 1 and len(buf) >= 3:
            cfg = (buf[1] << 8) | buf[2]
            channel = ((cfg >> 12) & 0x07) - 4
            self.result = self.net.adc_code(channel) if channel >= 0 else 0

    def read_into(self, buf):
        if self.reg == 0:
            buf[0], buf[1] = (self.result >> 8) & 0xFF, self.result & 0xFF
        elif self.reg == 1:
            buf[0], buf[1] = 0x80, 0x00       # OS = 1: the simulated conversion is instant
