# The simulated analog network, in pure MicroPython: the same physics as the host's
# drivers/analog.py (which a test holds it to), driven by the DAC codes the fake chips
# decoded from real I2C traffic and read by the fake ADCs.
#
#   DAC:     V = (Vref * code / 2^bits + INL(code)) * (1 + gain_ch) + offset_ch
#   weight:  w = weight_per_volt * (V - weight_zero_volts) * (1 + gain_k) + offset_k
#   neuron:  a = vsat_i * tanh(net / vsat_i),  net = sum_j w_ij a_j + w_i0 * bias_volts + off_i
#   ADC:     code = clip(round(a * 2^bits / Vref + mid + offset_ch + drift + noise))
# The board instance (mismatch) comes from the host, drawn by the same code as mock://.
# The hot methods are compiled by MicroPython's native emitter (about twice the speed of
# bytecode here, the same arithmetic); board.py loads this file through native.py, which
# drops those decorators where the port has no emitter (the unix port on aarch64).
import array
import math
import random

import micropython


class SimNetwork:
    def __init__(self, cfg):
        bench, board = cfg["bench"], cfg["board"]
        self.dac_bits = bench["dac"]["bits"]
        self.dac_vref = bench["dac"]["vref"]
        n_dac = 4 * bench["dac"]["chips"]
        self.codes = [0] * n_dac          # written by the fake DAC chips
        self.full_scale = [self.dac_vref] * n_dac
        self.dirty = True
        top, cal, wiring, sim = bench["topology"], bench["calibration"], bench["wiring"], bench["sim"]
        self.layers, self.bias, self.vsat = top["layers"], top["bias_volts"], board["vsat"]
        self.w_ch, self.in_ch = wiring["weights"], wiring["inputs"]
        self.readouts = wiring["outputs"] + wiring["hidden"]
        self.wpv, self.wzero, self.izero = cal["weight_per_volt"], cal["weight_zero_volts"], \
            cal["input_zero_volts"]
        self.dac_gain, self.dac_offset = board["dac_gain"], board["dac_offset"]
        self.inl = [sim["dac_inl_lsb"] * s for s in board["dac_inl_sign"]]
        self.w_gain, self.w_offset = board["weight_gain"], board["weight_offset"]
        self.adc_offset = board["adc_offset"]
        self.neuron_offset = board.get("neuron_offset") or [0.0] * len(self.vsat)
        self.stuck, self.stuck_code = sim["stuck_dac_channels"], sim["stuck_code"]
        adc = bench["adc"]
        self.adc_bits, self.adc_vref = adc["bits"], adc["vref"]
        self.adc_full = (1 << adc["bits"]) - 1
        self.scale = (1 << adc["bits"]) / adc["vref"]
        self.mid = 1 << (adc["bits"] - 1)
        self.noise = cfg.get("read_noise_volts", sim["read_noise_volts"]) * self.scale
        # RP2040 DNL: codes near 512/1536/2560/3584 (of 4096) read as them; a lookup table
        self.dnl_lut = array.array("H", range(self.adc_full + 1))
        spike, width = 1 << max(adc["bits"] - 3, 0), sim["dnl_spike_lsb"]
        for centre in (spike, 3 * spike, 5 * spike, 7 * spike):
            for code in range(max(0, int(centre - width)), min(self.adc_full, int(centre + width)) + 1):
                if abs(code - centre) <= width:
                    self.dnl_lut[code] = centre
        per_sample = math.sqrt(1000 * adc["oversample"])
        self.drift_step = sim["drift_volts_per_kquery"] * self.scale / per_sample
        self.drift = [0.0] * adc["channels"]
        random.seed(cfg.get("noise_seed", 2))
        # read noise: 4096 normal quantiles from the host, indexed by 12 random bits
        self.quantiles = array.array("f", cfg.get("normal_quantiles") or [0.0] * 4096)
        self.level = [self.mid] * adc["channels"]       # noise-free ADC level per channel
        self.volts_ch = [self.channel_volts(ch) for ch in range(n_dac)]
        self.weights_of = [[] for _ in range(n_dac)]
        for k, ch in enumerate(self.w_ch):
            self.weights_of[ch].append(k)
        self.w = [self._weight(k) for k in range(len(self.w_ch))]
        self._init_dynamics(bench, board)

    @micropython.native
    def set_code(self, channel, code, full_scale):
        if self.codes[channel] != code or self.full_scale[channel] != full_scale:
            self.codes[channel] = code
            self.full_scale[channel] = full_scale
            self.volts_ch[channel] = self.channel_volts(channel)
            for k in self.weights_of[channel]:
                self.w[k] = self._weight(k)
            self.dirty = True
            self.drive = None
            if self.weights_of[channel]:
                self.coeffs = None

    @micropython.native
    def channel_volts(self, ch):
        code = self.stuck_code if ch in self.stuck else self.codes[ch]
        full = 1 << self.dac_bits
        v = self.full_scale[ch] * code / full
        if self.inl[ch]:
            v += self.inl[ch] * self.dac_vref / full * math.sin(math.pi * code / full)
        return v * self.dac_gain[ch] + self.dac_offset[ch]

    @micropython.native
    def _weight(self, k):
        volts = self.volts_ch[self.w_ch[k]]
        return self.wpv * (volts - self.wzero) * self.w_gain[k] + self.w_offset[k]

    def _settle(self):
        """Solve the network for the current DAC voltages (weights are kept up to date by
        set_code); cache every readout's noise-free ADC level."""
        if self.tau:
            return self._state_levels()
        volts_ch, w = self.volts_ch, self.w
        signal = [volts_ch[ch] - self.izero for ch in self.in_ch]
        k, unit, acts = 0, 0, []
        for layer in range(1, len(self.layers)):
            out = []
            for _ in range(self.layers[layer]):
                net = 0.0
                for x in signal:
                    net += w[k] * x
                    k += 1
                net += w[k] * self.bias + self.neuron_offset[unit]
                k += 1
                vsat = self.vsat[unit]
                out.append(vsat * math.tanh(net / vsat))
                unit += 1
            acts.append(out)
            signal = out
        values = acts[-1] + [a for layer in acts[:-1] for a in layer]
        for ch, a in zip(self.readouts, values):
            self.level[ch] = (a + self.adc_offset[ch]) * self.scale + self.mid
        self.dirty = False

    @micropython.native
    def adc_code(self, channel):
        """One conversion of an ADC channel: the mock's formula, per sample."""
        if self.dirty:
            self._settle()
        x = self.level[channel]
        if self.drift_step:        # a random walk per conversion, not per settled state: the
            # draws then depend only on how many conversions ran, as the noise does
            self.drift[channel] += self.drift_step * self.quantiles[getrandbits(12)]
            x += self.drift[channel]
        if self.noise:
            x += self.noise * self.quantiles[getrandbits(12)]
        if x < 0.0:
            return self.dnl_lut[0]
        code = int(x + 0.5)
        return self.dnl_lut[code if code < self.adc_full else self.adc_full]

    # -- recurrent benches: the dynamics between samples (drivers/dynamics.py's twin) ------
    #   tau_i da_i/dt = -a_i + vsat_i tanh(net_i / vsat_i), RK4, SUBSTEPS_PER_TAU substeps
    #   per shortest time constant; the ADC reads the state, the capacitors reset to 0
    def _init_dynamics(self, bench, board):
        rec = bench.get("recurrent") or {}
        layers, n = self.layers, sum(self.layers[1:])
        gains = board.get("tau_gain") or [1.0] * n
        self.tau = [t * g for t, g in zip(rec.get("tau_us") or [], gains)]
        if not self.tau:
            return
        self.sources = [[] for _ in range(n)]      # (weight, source neuron) per neuron
        self.fan_in = [[] for _ in range(n)]       # (weight, input) per neuron
        self.bias_w = [0] * n
        k, first = 0, 0
        for layer in range(1, len(layers)):
            prev = first - layers[layer - 1]
            for unit in range(first, first + layers[layer]):
                for j in range(layers[layer - 1]):
                    if layer == 1:
                        self.fan_in[unit].append((k, j))
                    else:
                        self.sources[unit].append((k, prev + j))
                    k += 1
                self.bias_w[unit] = k
                k += 1
            first += layers[layer]
        for source, target in zip(rec["sources"], rec["targets"]):
            self.sources[target].append((k, source))
            k += 1
        n_out = layers[-1]
        self.read_order = list(range(n - n_out, n)) + list(range(n - n_out))
        self.state = [0.0] * n
        self.coeffs = None         # advance()'s per-neuron coefficients, for these weights
        self.drive = None          # and net input from bias and inputs, for these DAC codes
        self.plan = (None,)        # the last step length (us), its RK4 substeps, h, h/2, h/6

    def reset_state(self):
        self.state = [0.0] * len(self.state)
        self.dirty = True

    @micropython.native
    def _coefficients(self):
        """Per neuron: 1/vsat, vsat/tau, 1/tau and its feedback as (weight, source) pairs;
        rebuilt after a weight's DAC changes."""
        w, coeffs = self.w, []
        for i in range(len(self.state)):
            vsat, tau = self.vsat[i], self.tau[i]
            coeffs.append((1.0 / vsat, vsat / tau, 1.0 / tau,
                           [(w[k], j) for k, j in self.sources[i]]))
        self.coeffs = coeffs
        return coeffs

    @micropython.native
    def _drive(self):
        """Per neuron: the net input from the bias, the inputs and the neuron's input
        offset, held through a step; rebuilt after any DAC changes."""
        w, bias, izero, volts_ch = self.w, self.bias, self.izero, self.volts_ch
        signal = [volts_ch[ch] - izero for ch in self.in_ch]
        drive = []
        for i in range(len(self.state)):
            x = w[self.bias_w[i]] * bias + self.neuron_offset[i]
            for k, j in self.fan_in[i]:
                x += w[k] * signal[j]
            drive.append(x)
        self.drive = drive
        return drive

    @micropython.native
    def advance(self, us):
        """Let the circuit run for `us` with the DACs as they are (inputs held)."""
        if not self.tau:
            return
        coeffs = self.coeffs or self._coefficients()
        drive = self.drive or self._drive()
        plan = self.plan
        if plan[0] != us:          # a sequence keeps one step length: computed once
            steps = max(1, math.ceil(us * SUBSTEPS_PER_TAU / min(self.tau) - 1e-9))
            h = us / steps
            plan = self.plan = (us, steps, h, 0.5 * h, h / 6.0)
        _, steps, h, half, sixth = plan
        slope, a = self._slope, self.state
        for _ in range(steps):
            k1 = slope(a, drive, coeffs)
            k2 = slope([x + half * d for x, d in zip(a, k1)], drive, coeffs)
            k3 = slope([x + half * d for x, d in zip(a, k2)], drive, coeffs)
            k4 = slope([x + h * d for x, d in zip(a, k3)], drive, coeffs)
            a = [x + sixth * (d1 + 2 * (d2 + d3) + d4)
                 for x, d1, d2, d3, d4 in zip(a, k1, k2, k3, k4)]
        self.state = a
        self.dirty = True

    @staticmethod
    @micropython.native
    def _slope(a, drive, coeffs):
        """d(state)/dt at state a: (vsat tanh(net / vsat) - a) / tau per neuron."""
        tanh, out, i = math.tanh, [], 0
        for inv_vsat, vsat_tau, inv_tau, feedback in coeffs:
            net = drive[i]
            for wk, j in feedback:
                net += wk * a[j]
            out.append(vsat_tau * tanh(net * inv_vsat) - inv_tau * a[i])
            i += 1
        return out

    @micropython.native
    def _state_levels(self):
        for ch, i in zip(self.readouts, self.read_order):
            self.level[ch] = (self.state[i] + self.adc_offset[ch]) * self.scale + self.mid
        self.dirty = False


SUBSTEPS_PER_TAU = 8
getrandbits = random.getrandbits
