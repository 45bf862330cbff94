# The state the compiled inner loop (kernels.py) works on, allocated once per TRAIN run.
#
# Weights are fixed point (code * 2^FRAC, array('i')); the squared error is in quarter
# LSB^2 against targets rounded to half an LSB (t2 = round(2 t), array('i')), so a pass
# adds, multiplies and compares machine ints only. The learning rate and perturbation fold
# into one gain per weight: w -= lr / (n_out d) * (E_k - E) is, in these units,
# wq -= lr 2^FRAC / (4 n_out |d|) * sign(d) (E4_k - E4). Wider ADCs (the ADS1115's 15-bit
# codes, whose (2 y)^2 would overflow 32 bits) are shifted down to 12 bits for the error
# (esh), and the gain scaled back up by 4^esh.
from array import array

import emit
from rp2040_adc import Rp2040Adc

_ERROR_BITS = 12            # (2 * 4095)^2 * 3 outputs < 2^31: viper's machine ints hold it
ADC_REGS = 0x4004C000       # the RP2040 ADC's registers (RP2040 datasheet 2.2.2, 4.9.6)
TIMERAWL = 0x40054028       # the RP2040 timer's raw low word, in us (datasheet 4.6.5)


class Hot:
    def __init__(self, rig, inputs, targets, codes, lr, pert, n_out):
        k = emit.kernels()
        self.step, self.round_codes = k.step, k.round_codes
        self.emitter = emit.emitter(k)
        self.idle = _nothing            # called while the first pass of a step settles
        one = 1 << k.FRAC
        dacs = rig.dacs
        self.rig, self.dacs, self.codes, self.dirty = rig, dacs, dacs.codes, dacs.dirty
        self.n_w, self.n_out, self.n_in = rig.n_w, n_out, rig.n_in
        self.ch = array("H", rig.weight_ch)
        self.input_ch = array("H", rig.input_ch)
        self.chip_of = bytes(c >> 2 for c in rig.weight_ch)
        self.base = array("H", [0] * rig.n_w)
        self.errs = [0] * rig.n_w
        self.out = array("H", [0] * max(len(rig.readouts), 1))
        self.t2 = array("i", [int(2 * t + 0.5) for t in targets])
        self.wq = array("i", [c * one for c in codes])
        self.gain = [lr[i] * one / (4 * n_out * pert[i]) for i in range(rig.n_w)]
        self.pert = array("H", pert)
        self.inputs = array("H", inputs)
        self.hi, self.wlo, self.whi = rig.hi, rig.lo * one, rig.hi * one
        self.settle, self.settle_us = rig.board.settle, rig.settle_us
        adc = rig.adc
        if isinstance(adc, Rp2040Adc):
            self.reads = tuple(adc.adcs[r].read_u16 for r in rig.outputs)
            self.over, self.shift = adc.oversample, 4          # read_u16 is the code << 4
        else:
            self.reads = tuple(_reader(adc, r) for r in rig.outputs)
            self.over, self.shift = 1, 0
        self.esh = max(0, getattr(adc, "BITS", 12) - _ERROR_BITS)
        self.gain = [g * 4 ** self.esh for g in self.gain]
        # the Pico's own ADC, read at its registers by the kernels (no call per sample),
        # and its microsecond timer, read at TIMERAWL, for the settle wait (no call either)
        pico = getattr(adc, "registers", False)
        self.adc_base = ADC_REGS if pico else 0
        self.timer = TIMERAWL if pico else 0
        self.chans = bytes(rig.outputs)
        # the DAC writes: a buffer, its views and the bus's writeto per chip
        chips = dacs.chips
        self.bufs = [chip._buf for chip in chips]
        self.views = [chip._views for chip in chips]
        self.vrefs = [chip._vref for chip in chips]
        self.addrs = [chip.address for chip in chips]
        self.writers = [chip.i2c.writeto for chip in chips]

    def codes_now(self):
        """The weights rounded to codes, as a list (progress frames, the reply)."""
        self.round_codes(self.wq, self.base, self.n_w)
        return list(self.base)


def _nothing():
    pass


def _reader(adc, channel):
    def read():
        return adc.read(channel)
    return read
