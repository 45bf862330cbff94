# The rig: the converters wired to the analog network, as the bench file describes it.
#
# Holds the configuration sent by the host (CONFIGURE), enforces the code limits itself
# (a code outside min_code..max_code is refused before anything is written), keeps a
# shadow of every DAC code so only chips whose codes changed are written (one Fast
# Write per chip), and runs forward passes: write inputs, settle, read the readouts.
from array import array

from ads1115 import ADS1115
from mcp4728 import MCP4728
from protocol import ERR_BAD_PAYLOAD, ERR_HARDWARE, ERR_NOT_CONFIGURED, ERR_RANGE

DAC_BASE_ADDRESS = 0x60
ADS1115_ADDRESS = 0x48
ADC_BITS = {"rp2040": 12, "ads1115": 15}


class ProtoError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class DacBank:
    """Several MCP4728 on one bus; channel k is chip k // 4, output k % 4.

    A shadow of every code is kept; flush() writes only chips with changes, and of them
    only the channels that changed, in the fewest bytes (MCP4728.write_mask: a Fast Write
    up to the last changed channel or a Multi-Write of the changed ones). A perturbation
    changes one channel: 3 bytes or fewer, ~70 us at 400 kHz against ~200 us for all four.
    """

    def __init__(self, chips):
        self.chips = chips
        self.codes = array("H", [0] * (4 * len(chips)))
        self.dirty = bytearray(len(chips))      # bit c set: output c of that chip changed

    def set(self, channel, code):
        if self.codes[channel] != code:
            self.codes[channel] = code
            self.dirty[channel >> 2] |= 1 << (channel & 3)

    def flush(self):
        dirty = self.dirty
        for i in range(len(dirty)):
            mask = dirty[i]
            if mask:
                self.chips[i].write_mask(self.codes, 4 * i, mask)
                dirty[i] = 0

    def fill(self, code):
        for ch in range(len(self.codes)):
            self.codes[ch] = code
        for i in range(len(self.chips)):
            self.dirty[i] = 0x0F
        self.flush()

    def read_back(self):
        out = []
        for chip in self.chips:
            out.extend(chip.read_codes())
        return out


class Rig:
    def __init__(self, board):
        self.board = board
        self.configured = False
        self.safe_state = True
        self.bus = board.i2c(0, 4, 5, 400000)
        self.cfg = None
        self.feedback = 0

    def scan(self):
        try:
            return [a for a in self.bus.scan() if DAC_BASE_ADDRESS <= a < DAC_BASE_ADDRESS + 8]
        except OSError:
            return []

    # -- configuration ---------------------------------------------------------------
    def configure(self, cfg):
        """Take a configuration whose fields config_fields.checked() passed: check the rules
        between them and the hardware first, so a refused one changes nothing."""
        layers, dac, adc = cfg["layers"], cfg["dac"], cfg["adc"]
        n_dac = 4 * dac["chips"]
        _expect(len(layers) >= 2 and min(layers[1:]) >= 1,
                "layers: need at least 2 sizes, all but the first >= 1 (0 inputs: recurrent)")
        n_w = sum((layers[i] + 1) * layers[i + 1] for i in range(len(layers) - 1))
        n_w += cfg["feedback"]                   # recurrent benches: feedback weights last
        _expect(len(cfg["weights"]) == n_w, "weights: %d channels, topology needs %d"
                % (len(cfg["weights"]), n_w))
        _expect(len(cfg["inputs"]) == layers[0], "inputs: need %d channels" % layers[0])
        _expect(len(cfg["outputs"]) == layers[-1], "outputs: need %d channels" % layers[-1])
        used = cfg["weights"] + cfg["inputs"]
        _expect(_channels(used, n_dac), "DAC channel out of 0..%d" % (n_dac - 1))
        _expect(dac["kind"] == "mcp4728" and dac["bits"] == 12,
                "the firmware drives 12-bit MCP4728 DACs, not %d-bit %s" % (dac["bits"], dac["kind"]))
        _expect(ADC_BITS.get(adc["kind"]) == adc["bits"], "%s ADC codes are %s-bit, not %d"
                % (adc["kind"], ADC_BITS.get(adc["kind"]), adc["bits"]))
        lo, hi, safe = cfg["min_code"], cfg["max_code"], cfg["safe_code"]
        _expect(lo <= safe <= hi, "need min_code <= safe_code <= max_code")
        # channels the circuit needs at one code (the multipliers' reference): held from
        # here on, through safe(), and never changed by a host command
        fixed = {}
        for ch, code in cfg["fixed"]:
            _expect(ch < n_dac and ch not in used and ch not in fixed,
                    "fixed channel %d: not a free DAC channel" % ch)
            _expect(lo <= code <= hi, "fixed channel %d: code %d outside limits" % (ch, code))
            fixed[ch] = code
        readouts = cfg["outputs"] + cfg["hidden"]
        bus = self.board.i2c(dac["i2c_id"], dac["sda"], dac["scl"], dac["i2c_hz"])
        converter = self._make_adc(adc, bus)
        _expect(_channels(readouts, converter.channels),
                "ADC channel out of 0..%d" % (converter.channels - 1))
        found = [a for a in bus.scan() if DAC_BASE_ADDRESS <= a < DAC_BASE_ADDRESS + 8]
        for i in range(dac["chips"]):
            if DAC_BASE_ADDRESS + i not in found:
                raise ProtoError(ERR_HARDWARE, "no MCP4728 answers at 0x%02x" % (DAC_BASE_ADDRESS + i))
        chips = [MCP4728(bus, DAC_BASE_ADDRESS + i, internal_vref=dac["vref"] == 2.048)
                 for i in range(dac["chips"])]
        self.bus, self.dacs, self.adc = bus, DacBank(chips), converter
        self.cfg = cfg
        self.weight_ch, self.input_ch = cfg["weights"], cfg["inputs"]
        self.outputs, self.readouts = cfg["outputs"], readouts
        self.n_w, self.n_in, self.feedback = n_w, layers[0], cfg["feedback"]
        self.lo, self.hi, self.safe_code = lo, hi, safe
        self.settle_us = cfg["settle_us"]
        self.reset_pin, self.reset_us = cfg["reset_pin"], cfg["reset_us"]
        self.ldac_gpio = dac["ldac_gpio"]
        self.fixed = fixed
        self.held = [safe] * n_w
        self.configured = True
        self.safe()

    def _make_adc(self, adc, bus):
        if adc["kind"] == "rp2040":
            return self.board.rp2040_adc(adc["channels"], adc["oversample"])
        try:
            return ADS1115(bus, ADS1115_ADDRESS, full_scale=adc["vref"])
        except ValueError as exc:
            raise ProtoError(ERR_BAD_PAYLOAD, "configure: %s" % exc)

    def need_config(self):
        if not self.configured:
            raise ProtoError(ERR_NOT_CONFIGURED, "send CONFIGURE first")

    # -- limits and safety -----------------------------------------------------------
    def check(self, code, what):
        if code < self.lo or code > self.hi:
            raise ProtoError(ERR_RANGE, "%s code %d outside limits %d..%d"
                             % (what, code, self.lo, self.hi))

    def safe(self):
        """Every DAC channel (used or not) to the safe code."""
        if self.configured:
            self.dacs.fill(self.safe_code)
            for ch in self.fixed:
                self.dacs.set(ch, self.fixed[ch])
            self.dacs.flush()
            self.held = [self.safe_code] * self.n_w
        self.safe_state = True

    # -- forward passes ---------------------------------------------------------------
    def load_weights(self, codes):
        ch = self.weight_ch
        for k in range(self.n_w):
            self.dacs.set(ch[k], codes[k])
        self.safe_state = False

    def set_channel(self, channel, code):
        self.need_config()
        if not 0 <= channel < len(self.dacs.codes):
            raise ProtoError(ERR_BAD_PAYLOAD, "no DAC channel %d" % channel)
        if channel in self.fixed:
            raise ProtoError(ERR_RANGE, "DAC channel %d is fixed at code %d by the circuit"
                             % (channel, self.fixed[channel]))
        self.check(code, "channel %d" % channel)
        self.dacs.set(channel, code)
        self.dacs.flush()
        self.safe_state = False

    def forward(self, inputs, p, out, pos, readouts):
        """One pass of pattern p (inputs: flat codes); readout codes go to out[pos:] as
        little-endian u16 (out is the reply buffer: no copies); returns the new pos."""
        base = p * self.n_in
        dacs = self.dacs
        j = 0
        for ch in self.input_ch:
            dacs.set(ch, inputs[base + j])
            j += 1
        dacs.flush()
        if self.settle_us:
            self.board.settle(self.settle_us)
        read = self.adc.read
        for r in readouts:
            code = read(r)
            out[pos] = code & 0xFF
            out[pos + 1] = code >> 8
            pos += 2
        return pos

    # -- sequences (recurrent benches, sequence.py) ---------------------------------------
    def apply_inputs(self, inputs, step):
        """Write the input codes of one step of a flat sequence (all channels at once)."""
        base, dacs = step * self.n_in, self.dacs
        j = 0
        for ch in self.input_ch:
            dacs.set(ch, inputs[base + j])
            j += 1
        dacs.flush()

    def sample(self, out, pos, readouts):
        """Read the readouts into out[pos:] as little-endian u16; return the new pos."""
        read = self.adc.read
        for r in readouts:
            code = read(r)
            out[pos] = code & 0xFF
            out[pos + 1] = code >> 8
            pos += 2
        return pos


def _channels(channels, n):
    for ch in channels:
        if not isinstance(ch, int) or not 0 <= ch < n:
            return False
    return True


def _expect(ok, message):
    if not ok:
        raise ProtoError(ERR_BAD_PAYLOAD, "configure: " + message)
