# RP2040 on-chip ADC: 12-bit SAR, 500 kS/s (2 us per sample), inputs ADC0..ADC2 on
# GP26..GP28. machine.ADC.read_u16() returns the 12-bit result scaled to 16 bits, so
# the code is read_u16() >> 4. Oversampling sums N samples and rounds the mean.
# Known DNL spikes at codes 512/1536/2560/3584 (RP2040 erratum E11) are left to the
# host's learning rule to live with.
# registers=True (the Pico, board.py): the on-chip training's kernels read the ADC at its
# registers instead of through read_u16 (kernels.step, the same steps).


class Rp2040Adc:
    BITS = 12

    def __init__(self, adcs, oversample=4, registers=False):
        self.adcs = adcs           # one machine.ADC (or stand-in) per channel
        self.oversample = oversample
        self.registers = registers  # channel i is ADC input i (AINSEL i)

    @property
    def channels(self):
        return len(self.adcs)

    def read(self, channel):
        read = self.adcs[channel].read_u16
        n = self.oversample
        total = 0
        for _ in range(n):
            total += read() >> 4
        return (total + n // 2) // n
