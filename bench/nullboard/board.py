# A board with no physics: I2C writes are accepted and dropped, every ADC reads mid-scale.
# bench/firmware_loop.py runs the firmware's hot loops on it, to time the firmware's own
# interpreter cost per forward pass (what a real Pico adds on top of I2C and ADC time).
NAME = "null"
FIRMWARE_ROOT = ""


class NullI2C:
    def scan(self):
        return [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67]

    def writeto(self, addr, buf, stop=True):
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        pass


class NullAdc:
    def read_u16(self):
        return 0x8000


def i2c(bus_id, sda, scl, freq):
    return NullI2C()


def rp2040_adc(channels, oversample):
    from rp2040_adc import Rp2040Adc
    return Rp2040Adc([NullAdc() for _ in range(channels)], oversample)


def settle(us):
    pass


def boot_id():
    return 0
