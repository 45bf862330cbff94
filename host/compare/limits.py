"""The physical limit of a bench's on-chip training pass, from its chips and circuit alone.

A pass is one forward evaluation of the network during the on-chip weight-perturbation step
(firmware/onchip.py: per pattern, the base weights and then each weight perturbed in turn:
n_w + 1 passes). Whatever the firmware does, a pass cannot take less than

    I2C time of the DAC writes that pass needs  +  the circuit's settle time  +  the ADC time

done one after the other (the DACs must hold before the circuit settles, and the circuit
must settle before it is read). The parts:

- settle: `[timing] settle_us`, which follows from Rf Cf per layer (drivers/circuit.py).
- I2C: only the DAC channels that change, written the cheapest way each MCP4728 allows
  (Microchip DS22187E):
  * Fast Write (section 5.6.1, Fig. 5-7; DS51837A Table C-1): the address byte, then two
    bytes per channel (C2 C1 PD1 PD0 D11..D8, D7..D0), always from channel A on, each input
    register written at the ACK of its second byte: changing channel j costs 2 (j + 1) bytes;
  * Multi-Write (Fig. 5-8): the address byte, then three bytes per channel (command and
    channel select, VREF PD1 PD0 Gx D11..D8, D7..D0), any channels in any order.
  Per step: pass 0 writes the updated weights and the pattern's inputs; pass k writes weight
  k perturbed and weight k-1 restored. Bus time: 9 clocks per byte (8 bits and the ACK)
  and 2 per transaction (START, STOP), the same count bench/bench_rp2040.py uses for what
  the firmware really writes, so the two compare like for like.
- ADC: RP2040 ADC 96 cycles of its 48 MHz clock = 2 us per sample (RP2040 datasheet
  section 4.9), x oversample, per output; ADS1115 one single-shot conversion of 1/DR per
  output (TI SBAS444E) at the firmware's 860 SPS, plus its I2C: a Config write (address,
  pointer, 2 bytes) and a Conversion read (address, pointer; address, 2 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from wphil.drivers.bench import Bench

BYTE_CLOCKS = 9                 # 8 data bits and the ACK
TRANSACTION_CLOCKS = 2          # START and STOP
MCP4728_CHANNELS = 4
RP2040_ADC_SAMPLE_US = 2.0      # 96 cycles at 48 MHz (RP2040 datasheet, section 4.9)
ADS1115_SPS = 860               # firmware/ads1115.py's data rate
ADS1115_BYTES = (4, 2, 3)       # Config write; pointer to Conversion; read 2 bytes
STANDARD_HZ = (400_000, 1_000_000)   # fast mode; fast-mode plus, the RP2040 I2C block's top


def chip_write_bytes(changed: set[int]) -> int:
    """Bytes of the cheapest MCP4728 write that sets the channel indices (0=A..3=D) `changed`."""
    if not changed:
        return 0
    fast = 2 * (max(changed) + 1)        # Fast Write runs from A to the last changed channel
    multi = 3 * len(changed)             # Multi-Write, three bytes per channel
    return 1 + min(fast, multi)


def write_clocks(channels: set[int]) -> int:
    """Bus clocks to set the DAC `channels` (chip n holds 4n..4n+3), one transaction per chip."""
    per_chip: dict[int, set[int]] = {}
    for ch in channels:
        per_chip.setdefault(ch // MCP4728_CHANNELS, set()).add(ch % MCP4728_CHANNELS)
    return sum(BYTE_CLOCKS * chip_write_bytes(s) + TRANSACTION_CLOCKS for s in per_chip.values())


def step_channels(bench: Bench) -> list[set[int]]:
    """The DAC channels each pass of one on-chip wp step changes (n_w + 1 passes)."""
    weights = list(bench.wiring.weights)
    passes = [set(weights) | set(bench.wiring.inputs)]
    for k, ch in enumerate(weights):
        passes.append({ch} | ({weights[k - 1]} if k else set()))
    return passes


def dac_clocks_per_pass(bench: Bench) -> float:
    passes = step_channels(bench)
    return sum(write_clocks(p) for p in passes) / len(passes)


@dataclass(frozen=True)
class PassLimit:
    """The least time a pass can take on a bench, and its parts (us)."""

    bench: str
    settle_us: float
    adc_us: float               # conversion time
    bus_clocks: float           # I2C clocks per pass: DAC writes, and ADS1115 traffic

    def i2c_us(self, hz: float) -> float:
        return self.bus_clocks * 1e6 / hz

    def pass_us(self, hz: float) -> float:
        return self.i2c_us(hz) + self.settle_us + self.adc_us

    def passes_per_s(self, hz: float) -> float:
        return 1e6 / self.pass_us(hz)


def pass_limit(bench: Bench) -> PassLimit:
    """The physical limit of `bench`'s on-chip training pass."""
    n_out = bench.n_outputs
    clocks = dac_clocks_per_pass(bench)
    if bench.adc.kind == "ads1115":
        adc_us = n_out * 1e6 / ADS1115_SPS
        clocks += n_out * sum(BYTE_CLOCKS * b + TRANSACTION_CLOCKS for b in ADS1115_BYTES)
    else:
        adc_us = n_out * bench.adc.oversample * RP2040_ADC_SAMPLE_US
    return PassLimit(bench.name, float(bench.timing.settle_us), adc_us, clocks)


def limit_rows(bench: Bench) -> list[dict[str, float]]:
    """The limit at the bench's bus speed, at 400 kHz and at 1 MHz."""
    limit = pass_limit(bench)
    return [{"i2c_hz": hz, "i2c_us": limit.i2c_us(hz), "settle_us": limit.settle_us,
             "adc_us": limit.adc_us, "pass_us": limit.pass_us(hz),
             "passes_per_s": limit.passes_per_s(hz)}
            for hz in sorted({bench.dac.i2c_hz, *STANDARD_HZ})]
