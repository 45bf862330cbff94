"""Every key of a bench file, declared once: type, default, allowed range, meaning.

One frozen dataclass per TOML table; `wphil.drivers.bench` loads and validates against these.
"""

from __future__ import annotations

from dataclasses import dataclass

from wphil.drivers.keys import key
from wphil.drivers.training_settings import BenchSettings


@dataclass(frozen=True, kw_only=True)
class BenchMeta:
    """What the bench is called and which task it trains by default."""

    name: str = key(doc="bench name")
    description: str = key("", doc="free text")
    task: str = key("xor", doc="default task trained on this bench")


@dataclass(frozen=True, kw_only=True)
class Topology:
    """The network: units per layer, the bias input, the neurons' saturation."""

    layers: tuple[int, ...] = key(lo=0, hi=64, doc="units per layer, inputs first (0 inputs: "
                                  "only a recurrent network, driven by its own dynamics)")
    bias_volts: float = key(1.0, lo=0.0, hi=10.0, doc="fixed bias input of every neuron (V)")
    vsat: float = key(1.0, lo=0.05, hi=10.0, doc="op-amp soft saturation a = vsat*tanh(net/vsat) (V)")


@dataclass(frozen=True, kw_only=True)
class Dac:
    """The DAC chips (MCP4728, four channels each) and the I2C bus they share."""

    kind: str = key("mcp4728", choices=("mcp4728",), doc="DAC chip")
    chips: int = key(lo=1, hi=8, doc="number of chips on the bus (4 channels each, 0x60..0x67)")
    bits: int = key(12, lo=4, hi=16, doc="resolution")
    vref: float = key(2.048, lo=0.1, hi=10.0, doc="full-scale reference (V)")
    i2c_id: int = key(0, lo=0, hi=1, doc="RP2040 I2C peripheral")
    sda: int = key(4, lo=0, hi=29, doc="SDA GPIO")
    scl: int = key(5, lo=0, hi=29, doc="SCL GPIO")
    i2c_hz: int = key(400_000, lo=10_000, hi=1_000_000, doc="I2C clock (Hz)")
    ldac_gpio: int = key(6, lo=0, hi=29, doc="GPIO wired to chip 0's LDAC; chip k's is this + k "
                         "(only `wphil dac-address` drives them)")


@dataclass(frozen=True, kw_only=True)
class Adc:
    """The ADC the outputs (and hidden units) are read with: the RP2040's own, or an ADS1115."""

    kind: str = key("rp2040", choices=("rp2040", "ads1115"), doc="ADC chip")
    channels: int = key(3, lo=1, hi=16, doc="readable channels")
    bits: int = key(12, lo=8, hi=16, doc="resolution of the codes the device reports")
    vref: float = key(3.3, lo=0.1, hi=10.0, doc="full-scale input (V); signal 0 V reads mid-scale")
    oversample: int = key(4, lo=1, hi=256, doc="samples averaged per reading")


@dataclass(frozen=True, kw_only=True)
class FixedChannel:
    """A DAC channel the circuit needs at one code, such as the multipliers' reference."""

    channel: int = key(lo=0, hi=255, doc="DAC channel")
    code: int = key(lo=0, hi=65535, doc="the code it always holds")
    name: str = key("", doc="what the circuit calls it (e.g. REF1024)")


@dataclass(frozen=True, kw_only=True)
class Wiring:
    """Which converter channel carries each weight, input and output; DAC channels count
    0.. over the chips (chip k has channels 4k..4k+3), ADC channels are the ADC's inputs."""

    weights: tuple[int, ...] = key(lo=0, hi=255, doc="DAC channel of each weight, layer by layer, "
                                   "unit by unit, inputs then bias")
    inputs: tuple[int, ...] = key(lo=0, hi=255, doc="DAC channel of each network input")
    outputs: tuple[int, ...] = key(lo=0, hi=255, doc="ADC channel of each output unit")
    hidden: tuple[int, ...] = key((), lo=0, hi=255, doc="ADC channel of each hidden unit (optional)")
    fixed: tuple[FixedChannel, ...] = key((), doc="DAC channels held at a fixed code, as tables "
                                          "{channel, code, name}; never perturbed, the firmware "
                                          "refuses to change them")


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """How DAC codes map to weights and signal volts, and the output volts that are the
    targets."""

    weight_zero_volts: float = key(1.024, lo=0.0, hi=10.0, doc="DAC volts that mean weight 0")
    weight_per_volt: float = key(4.0, lo=0.01, hi=1000.0, doc="weight units per DAC volt")
    input_zero_volts: float = key(1.024, lo=0.0, hi=10.0, doc="DAC volts that mean signal 0 V")
    input_volts: tuple[float, ...] = key((-0.5, 0.5), lo=-10.0, hi=10.0,
                                         doc="signal volts of feature value 0 and 1")
    targets: tuple[float, ...] = key((-0.6, 0.6), lo=-10.0, hi=10.0,
                                     doc="output volts meaning class absent, present")
    table: str = key("", doc="measured DAC calibration written by `wphil calibrate`, a path "
                     "relative to this bench file; fills [dac_calibration]; empty: none")


@dataclass(frozen=True, kw_only=True)
class DacCalibration:
    """Measured DAC lines, V = volts_per_code * code + offset_volts, per channel. Usually
    filled from `[calibration] table`; channels not listed use the nominal Vref / 2^bits line."""

    channels: tuple[int, ...] = key((), lo=0, hi=255, doc="DAC channels with a measured line")
    volts_per_code: tuple[float, ...] = key((), lo=1e-9, hi=1.0,
                                            doc="measured slope of each channel (V per code)")
    offset_volts: tuple[float, ...] = key((), lo=-10.0, hi=10.0,
                                          doc="measured output of each channel at code 0 (V)")
    source: str = key("", doc="where the numbers come from (table file, date, DMM)")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The DAC codes the firmware accepts, and the safe code it falls back to."""

    min_code: int = key(0, lo=0, hi=65535, doc="lowest DAC code the firmware accepts")
    max_code: int = key(-1, lo=-1, hi=65535, doc="highest DAC code accepted (-1: full scale)")
    safe_code: int = key(-1, lo=-1, hi=65535, doc="code every DAC goes to when safe (-1: weight 0)")


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How long the circuit needs to settle, and how long the firmware waits for the host."""

    settle_us: int = key(-1, lo=-1, hi=1_000_000, doc="wait after writing DACs before reading (us); "
                         "-1: what the [circuit] needs (10 without one)")
    host_timeout_ms: int = key(2000, lo=100, hi=3_600_000, doc="host silence before safe state (ms)")


@dataclass(frozen=True, kw_only=True)
class Defaults(BenchSettings):
    """The bench's tuned training settings: every key of the training-settings schema
    marked `bench` (wphil.drivers.training_settings), and the per-pattern learning rate."""

    pattern_lr: float = key(0.05, lo=0.0, hi=1e6, lo_open=True,
                            doc="learning rate of per-pattern steps (--batch-size 1, --onchip)")


@dataclass(frozen=True, kw_only=True)
class Sim:
    """The simulated physics of mock://, upy:// and rp2040:// (and the converters of
    spice://): mismatch drawn per board, noise and drift per reading. A real bench ignores it;
    profiles (`--profile`) change it."""

    board_seed: int = key(1, lo=0, hi=2**32 - 1, doc="seed of the board instance (mismatch)")
    noise_seed: int = key(2, lo=0, hi=2**32 - 1, doc="seed of read noise and drift")
    part_spread: str = key("normal", choices=("normal", "uniform", "truncated"),
                           doc="how the datasheet-bounded keys (dac_gain_mismatch, "
                           "dac_offset_volts, dac_inl_lsb, dac_vref_mismatch, and [circuit] "
                           "multiplier_*, opamp_offset_volts) are drawn: normal (key = 1 sigma), "
                           "uniform (key = max, uniform over +-max), truncated (key = max, "
                           "normal sigma = max/3 truncated at max); drivers/spread.py")
    dac_gain_mismatch: float = key(0.005, lo=0.0, hi=0.5, doc="DAC channel gain error "
                                   "(fraction; sigma or max, as part_spread says)")
    dac_offset_volts: float = key(0.002, lo=0.0, hi=1.0, doc="DAC channel offset (V; sigma or "
                                  "max)")
    dac_inl_lsb: float = key(0.5, lo=0.0, hi=64.0, doc="peak of the bow-shaped DAC INL (LSB); "
                             "part_spread normal: every channel at this peak, else its maximum")
    dac_vref_mismatch: float = key(0.0, lo=0.0, hi=0.1, doc="each MCP4728 chip's internal VREF "
                                   "error (fraction, shared by its 4 channels; sigma or max)")
    weight_gain_mismatch: float = key(0.05, lo=0.0, hi=0.9, doc="std of per-weight gain error")
    weight_offset: float = key(0.02, lo=0.0, hi=10.0, doc="std of per-weight offset (weight units)")
    vsat_mismatch: float = key(0.03, lo=0.0, hi=0.5, doc="std of per-neuron saturation error")
    output_offset_volts: float = key(0.005, lo=0.0, hi=1.0, doc="std of per-output offset (V)")
    neuron_offset_volts: float = key(0.0, lo=0.0, hi=5.0, doc="std of per-neuron input offset, "
                                     "added to the net before saturation (V)")
    read_noise_volts: float = key(0.0015, lo=0.0, hi=1.0, doc="std of Gaussian read noise (V)")
    dnl_spike_lsb: float = key(0.0, lo=0.0, hi=64.0,
                               doc="half-width of the RP2040 DNL spikes at 512/1536/2560/3584 (LSB)")
    stuck_dac_channels: tuple[int, ...] = key((), lo=0, hi=255, doc="DAC channels that ignore writes")
    stuck_code: int = key(0, lo=0, hi=65535, doc="code a stuck channel holds")
    drift_volts_per_kquery: float = key(0.0, lo=0.0, hi=1.0,
                                        doc="random-walk std of output offsets per 1000 queries (V)")
    tau_mismatch: float = key(0.05, lo=0.0, hi=0.5,
                              doc="std of per-neuron time-constant error (capacitor tolerance)")
    # held-out physics: effects no wphil model has (mock:// only; profile `heldout`)
    multiplier_cubic: float = key(0.0, lo=0.0, hi=0.5, doc="held-out: each weight x signal "
                                  "product compresses as x (1 - k x^2), x in volts / vsat")
    rail_asymmetry: float = key(0.0, lo=0.0, hi=0.5, doc="held-out: neurons saturate at "
                                "+vsat (1 + a) and -vsat (1 - a), unit slope at 0 (not tanh)")


@dataclass(frozen=True, kw_only=True)
class Power:
    """The bench supply's rails (`wphil power`), one entry per rail in every list."""

    names: tuple[str, ...] = key((), doc="rail names, in switch-on order (off in reverse)")
    channels: tuple[int, ...] = key((), lo=1, hi=8, doc="supply output feeding each rail")
    volts: tuple[float, ...] = key((), lo=0.0, hi=60.0, doc="voltage of each rail (V)")
    current_limits: tuple[float, ...] = key((), lo=0.001, hi=10.0,
                                            doc="current limit of each rail (A)")
    max_volts: tuple[float, ...] = key((), lo=0.01, hi=60.0, doc="highest voltage a rail may "
                                       "ever be set to; also its over-voltage protection (V)")


@dataclass(frozen=True, kw_only=True)
class Recurrent:
    """Feedback weights and neuron dynamics. A bench with `tau_us` is recurrent: every neuron
    integrates tau * da/dt = -a + vsat * tanh(net / vsat) (an op-amp integrator, tau = Rf * C),
    and is driven by input sequences. Feedback weights take their DAC channels from the end
    of [wiring] weights, after the feed-forward ones, in the order listed here. Neurons are
    numbered 0.. over the non-input layers, layer by layer."""

    sources: tuple[int, ...] = key((), lo=0, hi=255, doc="neuron whose output each feedback "
                                   "weight carries")
    targets: tuple[int, ...] = key((), lo=0, hi=255, doc="neuron whose input each feedback "
                                   "weight joins (its own source allowed)")
    tau_us: tuple[float, ...] = key((), lo=1.0, hi=1e7, doc="time constant of each neuron (us); "
                                    "empty: a feed-forward bench")
    step_us: int = key(1000, lo=10, hi=10_000_000, doc="sequence step: inputs change and "
                       "outputs are sampled once per step (us)")
    reset_pin: int = key(-1, lo=-1, hi=29, doc="GPIO closing the capacitor reset switches "
                         "before each sequence (-1: none wired)")
    reset_us: int = key(200, lo=0, hi=1_000_000, doc="how long the reset switches are closed (us)")


@dataclass(frozen=True, kw_only=True)
class Circuit:
    """The analog core the bench is built from (drivers/circuit.py). Part figures are the
    datasheets' typical values, used as 1-sigma spreads by spice:// (docs: Build the bench)."""

    kind: str = key("", choices=("", "ad633"), doc="circuit: '' (abstract model only) or 'ad633' "
                    "(an AD633 multiplier per weight, an MCP6004 diode-limiter neuron)")
    ref_channel: int = key(-1, lo=-1, hi=255, doc="the [wiring] fixed channel that is the "
                           "multipliers' reference (X1, zero of the inputs); -1: none")
    rail_volts: float = key(12.0, lo=8.0, hi=18.0, doc="AD633 supply, +-V (datasheet: +-8..+-18)")
    logic_volts: float = key(3.3, lo=1.8, hi=6.0, doc="neuron op-amp supply (the Pico's 3V3)")
    rin_ohms: float = key(12_400.0, lo=100.0, hi=1e7, doc="neuron input resistor")
    rf_ohms: float = key(499_000.0, lo=1e3, hi=1e8, doc="neuron feedback resistor")
    cf_farads: float = key(100e-12, lo=0.0, hi=1e-6, doc="capacitor across rf (noise filter)")
    rout_ohms: float = key(1000.0, lo=0.0, hi=1e6, doc="series resistor neuron -> ADC pin")
    vmid_divider_ohms: float = key(100_000.0, lo=1e3, hi=1e7,
                                   doc="each resistor of the ADC_VREF/2 divider making VMID")
    offset_trim_volts: float = key(0.0, lo=0.0, hi=0.1, doc="per-neuron offset trimmer on "
                                   "the first multiplier's Z: at bring-up each neuron's output is "
                                   "trimmed to VMID (weights and inputs at zero) to within +-this, "
                                   "at the summing node (V, uniform per board); 0: no trimmers")
    trim_range_volts: float = key(0.2, lo=0.0, hi=1.0, doc="how far a trimmer moves the first "
                                  "Z from VMID, +- (V)")
    limiter_diodes: int = key(3, lo=1, hi=8, doc="1N4148s in series each way across rf")
    int_ohms: float = key(10_000.0, lo=100.0, hi=1e7, doc="recurrent benches: the integrator's "
                          "input and feedback resistors (tau = int_ohms * int_farads)")
    int_farads: float = key(0.0, lo=0.0, hi=1e-3, doc="recurrent benches: the integrator's "
                            "capacitor, shorted by an analog switch before each sequence; "
                            "0: feed-forward (no integrator)")
    capacitor_tolerance: float = key(0.05, lo=0.0, hi=0.5, doc="integrator capacitor "
                                     "tolerance (1 = 100%)")
    resistor_tolerance: float = key(0.01, lo=0.0, hi=0.2, doc="resistor tolerance (1 = 100%)")
    multiplier_gain_sigma: float = key(0.0025, lo=0.0, hi=0.2,
                                       doc="AD633 scale-factor error (1 sigma, or the maximum "
                                       "as [sim] part_spread says)")
    multiplier_input_offset_volts: float = key(0.005, lo=0.0, hi=0.1,
                                               doc="AD633 X and Y input offset (V; sigma or max)")
    multiplier_output_offset_volts: float = key(0.005, lo=0.0, hi=0.1,
                                                doc="AD633 output offset (V; sigma or max)")
    opamp_offset_volts: float = key(0.0015, lo=0.0, hi=0.05,
                                    doc="MCP6004 input offset (V; sigma or max)")
    multiplier_x_nonlinearity: float = key(0.0, lo=0.0, hi=0.05, doc="AD633 X nonlinearity "
                                           "(fraction of full scale; sigma or max): a Chebyshev "
                                           "T3 deviation from the straight line over +-10 V")
    multiplier_y_nonlinearity: float = key(0.0, lo=0.0, hi=0.05,
                                           doc="AD633 Y nonlinearity, as for X")
    diode_spread: float = key(0.2, lo=0.0, hi=2.0,
                              doc="1N4148 saturation-current spread (log-normal sigma)")


SECTIONS: dict[str, type] = {
    "bench": BenchMeta, "topology": Topology, "dac": Dac, "adc": Adc, "wiring": Wiring,
    "calibration": Calibration, "limits": Limits, "timing": Timing, "defaults": Defaults,
    "sim": Sim, "dac_calibration": DacCalibration, "power": Power, "recurrent": Recurrent,
    "circuit": Circuit,
}
