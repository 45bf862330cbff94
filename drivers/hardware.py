"""The bench hardware as built, described once: which Pico pin carries each signal, what sits
on it (series resistor, pull-down), what powers each chip, its decoupling, and how each unused
input is tied.

Every hardware-facing artefact derives from `hardware(bench)`: the firmware's CONFIGURE
(serial_device.firmware_config), `wphil dac-address`, `wphil check`, `wphil calibrate`, the
wiring table and parts list (wphil.lab.build), the schematic, the emulated board of rp2040://
(rp2040_board.node_config) and the bring-up steps (wphil.lab.bringup). The bench file holds
the choices ([dac] sda/scl/ldac_gpio, [recurrent] reset_pin, [adc] kind); the fixed parts of
the design (resistor values, supplies) are named here, each sized against a datasheet figure.

LDAC scheme: MCP4728 chip k's LDAC on its own GPIO, GP([dac] ldac_gpio + k), through
LDAC_SERIES_OHMS, with LDAC_PULLDOWN_OHMS to GND at the chip: LDAC is low (outputs follow
every write) whenever the GPIO is not driven; only `wphil dac-address` drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError

# -- the Raspberry Pi Pico (R3 pinout sheet [PIN]) -------------------------------------------
#: GPIO -> physical pin: GP0..GP22 on the left and lower right, GP26..GP28 the ADC inputs
PICO_GPIO_PIN: dict[int, int] = {
    0: 1, 1: 2, 2: 4, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11, 9: 12, 10: 14, 11: 15, 12: 16,
    13: 17, 14: 19, 15: 20, 16: 21, 17: 22, 18: 24, 19: 25, 20: 26, 21: 27, 22: 29,
    26: 31, 27: 32, 28: 34}
PICO_GND, PICO_3V3, PICO_ADC_VREF, PICO_AGND, PICO_VBUS = 38, 36, 35, 33, 40
#: RP2040 I2C pin functions (datasheet 1.4.3, GPIO function table): bus -> (SDA GPIOs, SCL GPIOs)
I2C_PINS = {0: ((0, 4, 8, 12, 16, 20), (1, 5, 9, 13, 17, 21)),
            1: ((2, 6, 10, 14, 18, 26), (3, 7, 11, 15, 19, 27))}
ADC_GPIO = {0: 26, 1: 27, 2: 28}
#: MCP4728 (MSOP-10; the same names on breakout boards); KiCad Analog_DAC:MCP4728
MCP4728_PINS = {"VDD": 1, "SCL": 2, "SDA": 3, "LDAC": 4, "RDY": 5, "VOUTA": 6, "VOUTB": 7,
                "VOUTC": 8, "VOUTD": 9, "VSS": 10}
#: DG412 DIP-16 (KiCad Analog_Switch:DG412xJ, FN3282): (IN, D, S) of switches 1..4; supplies
DG412_SWITCHES = {1: (1, 2, 3), 2: (16, 15, 14), 3: (9, 10, 11), 4: (8, 7, 6)}
DG412_VPLUS, DG412_VMINUS, DG412_GND, DG412_VL = 13, 4, 5, 12
#: I2C address of MCP4728 number 0; chip n answers at MCP4728_BASE_ADDRESS + n once addressed
MCP4728_BASE_ADDRESS = 0x60
#: ADS1115 with ADDR tied to GND (SBAS444E, Table 7-2 [2nd]); KiCad Analog_ADC:ADS1115IDGS pins
ADS1115_ADDRESS = 0x48
ADS1115_PINS = {"ADDR": 1, "ALERT/RDY": 2, "GND": 3, "AIN0": 4, "AIN1": 5, "AIN2": 6, "AIN3": 7,
                "VDD": 8, "SDA": 9, "SCL": 10}
#: the PGA range an ADS1115 bench reads its neurons on: single-ended 0..4.096 V as 15-bit
#: codes, VMID (2.048 V) at mid-scale; at VDD 3.3 V only 0..3.3 V is usable (SBAS444E 7.3.3),
#: and the neurons swing VMID +- ~1 V = 1.05..3.05 V
ADS1115_FULL_SCALE = 4.096
#: its VMID: 3V3 through 100k over 165k (E96) = 2.055 V nominal (the Pico's 3V3 tolerance
#: moves it: a common output offset, seen by `wphil check`'s zero-weight readouts)
ADS1115_VMID_BOTTOM_OHMS = 165_000.0

# -- electrical figures the resistors are sized against ---------------------------------------
PICO_VOH_MIN = 2.62        # V, GPIO high at IOVDD 3.3 V, RP2040 datasheet Table 632 [R634]
LOGIC_VOLTS = 3.3          # the Pico's 3V3: the MCP4728s, MCP6004s (and ADS1115) run from it
MCP4728_VIH_FRACTION = 0.7  # VIH >= 0.7 VDD on SDA/SCL/LDAC, DS22187E [M6]
DG412_VINH = 2.4           # V, logic high, characterised at VL = 5 V (FN3282 [DGi], Maxim [DGm])
DG412_VL_VOLTS = 5.0       # the DG412 logic supply: an L78L05A (4.8..5.2 V, ST DocID2145)

I2C_PULLUP_OHMS = 4_700.0
#: LDAC: series 330 R keeps the divider above VIH: 2.62 V * 10k / 10.33k = 2.54 V >= 2.31 V
LDAC_SERIES_OHMS = 330.0
LDAC_PULLDOWN_OHMS = 10_000.0
#: reset line: 1 k limits the current into the DG412's logic inputs should GP15 be high with
#: V+ off ([DGi]: inputs (V-)-2 V..(V+)+2 V or 30 mA); 100 k down: 2.62 * 100/101 = 2.59 V >= 2.4 V
RESET_SERIES_OHMS = 1_000.0
RESET_PULLDOWN_OHMS = 100_000.0

# -- the offset trimmer of each neuron (a bench whose [circuit] offset_trim_volts > 0) -------
#: a 10k 25-turn cermet trimmer across 3V3..GND (Bourns 3296W); its wiper feeds, through
#: TRIM_SERIES_OHMS, the first AD633's Z of the neuron's chain, which takes VMID through
#: TRIM_VMID_OHMS: Z = VMID + (wiper - VMID) x 10k / (10k + 68k), VMID +- 0.21 V at VMID 1.65 V
#: (drivers/circuit_model.py `trimmed`; the spice netlist models the same Z as a source).
#: Bourns 3296 datasheet: 25 turns nom., voltage adjustability +-0.01 % (0.33 mV of 3V3 at the
#: wiper, 0.04 mV at Z: far finer than the +-1 mV offset_trim_volts the model leaves), +-10 %
#: track tolerance (the trim is ratiometric: it does not matter), +-100 ppm/C
TRIM_POT_OHMS = 10_000.0
TRIM_SERIES_OHMS = 68_000.0
TRIM_VMID_OHMS = 10_000.0
TRIM_POT_MPN = "Bourns 3296W-1-103LF"


@dataclass(frozen=True)
class Signal:
    """One Pico GPIO and what is on it."""

    name: str                  # SDA, SCL, LDAC0.., RESET, ADC0..
    gpio: int
    driven_by: str             # who drives the pin
    dests: tuple[str, ...]     # the part pins it reaches
    series_ohms: float = 0.0   # resistor between the Pico pin and the part pins
    pull_ohms: float = 0.0     # to `pull_to`, at the part
    pull_to: str = ""          # "GND" or "3V3"

    @property
    def pico_pin(self) -> int:
        return PICO_GPIO_PIN[self.gpio]

    @property
    def label(self) -> str:
        """How every artefact names the pin: 'Pico pin 9 (GP6)'."""
        return f"Pico pin {self.pico_pin} (GP{self.gpio})"

    def high_volts(self, voh: float = PICO_VOH_MIN) -> float:
        """The part pins' voltage with the GPIO high at `voh`: the series/pull-down divider."""
        if self.pull_to != "GND" or not self.series_ohms:
            return voh
        return voh * self.pull_ohms / (self.pull_ohms + self.series_ohms)


@dataclass(frozen=True)
class Hardware:
    """Every Pico signal of one bench, and the chips' supplies."""

    signals: tuple[Signal, ...]
    dac_chips: int
    reset_switches: int        # DG412s (0: a feed-forward bench)
    adc_kind: str

    def signal(self, name: str) -> Signal:
        for s in self.signals:
            if s.name == name:
                return s
        raise KeyError(name)

    def ldac_gpio(self, chip: int) -> int:
        return self.signal(f"LDAC{chip}").gpio

    def gpio_of(self) -> dict[str, int]:
        return {s.name: s.gpio for s in self.signals}


def vmid_divider(bench: Bench) -> tuple[float, float]:
    """(the volts the VMID divider hangs from, its bottom resistor over its top one): ADC_VREF
    halved for the RP2040 ADC; 3V3 x 165k / (100k + 165k) for the ADS1115."""
    if bench.adc.kind == "ads1115":
        return LOGIC_VOLTS, ADS1115_VMID_BOTTOM_OHMS / bench.circuit.vmid_divider_ohms
    return bench.adc.vref, 1.0


def trim_reach(vmid: float) -> float:
    """How far the trimmer can move its Z from VMID (V), towards the nearer rail: the wiper at
    the end of its track (where its own resistance is nil) through the 68k / 10k divider."""
    return min(vmid, LOGIC_VOLTS - vmid) * TRIM_VMID_OHMS / (TRIM_VMID_OHMS + TRIM_SERIES_OHMS)


def dac_pin_name(chip: int, pin: str) -> str:
    """'DAC0 LDAC (4)': MCP4728 chip `chip`'s pin, by name and number."""
    return f"DAC{chip} {pin} ({MCP4728_PINS[pin]})"


def switch_in_pin(n: int) -> str:
    """'US1 IN1 (1)': the logic input of the DG412 switch across neuron n's capacitor."""
    k = n % 4 + 1
    return f"US{n // 4 + 1} IN{k} ({DG412_SWITCHES[k][0]})"


def hardware(bench: Bench) -> Hardware:
    """The bench's hardware, checked: every GPIO exists, is free and does its job."""
    d = bench.dac
    ads = bench.adc.kind == "ads1115"       # on the DACs' bus, ADDR to GND
    signals = [Signal(bus, getattr(d, bus.lower()), "firmware (I2C)",
                      tuple(dac_pin_name(k, bus) for k in range(d.chips))
                      + ((f"ADS1 {bus} ({ADS1115_PINS[bus]})",) if ads else ()),
                      pull_ohms=I2C_PULLUP_OHMS, pull_to="3V3") for bus in ("SDA", "SCL")]
    signals += [Signal(f"LDAC{k}", d.ldac_gpio + k, "wphil dac-address",
                       (dac_pin_name(k, "LDAC"),), LDAC_SERIES_OHMS, LDAC_PULLDOWN_OHMS, "GND")
                for k in range(d.chips)]
    switches = 0
    if bench.recurrent.reset_pin >= 0:
        switches = -(-bench.n_neurons // 4)
        signals.append(Signal("RESET", bench.recurrent.reset_pin, "firmware (reset)",
                              tuple(switch_in_pin(n) for n in range(bench.n_neurons)),
                              RESET_SERIES_OHMS, RESET_PULLDOWN_OHMS, "GND"))
    if bench.adc.kind == "rp2040":
        signals += [Signal(f"ADC{ch}", ADC_GPIO.get(ch, -1), "firmware (ADC input)", ())
                    for ch in sorted(bench.wiring.outputs + bench.wiring.hidden)]
    hw = Hardware(tuple(signals), d.chips, switches, bench.adc.kind)
    _check(bench, hw)
    return hw


def _check(bench: Bench, hw: Hardware) -> None:
    src = bench.source
    if bench.adc.kind == "ads1115" and bench.circuit.kind and \
            bench.adc.vref != ADS1115_FULL_SCALE:
        raise ConfigError(f"{src}: [adc] vref: an ADS1115 bench reads its neurons single-ended "
                          f"on the +-{ADS1115_FULL_SCALE} V range (vref = {ADS1115_FULL_SCALE}), "
                          f"VMID at its mid-scale {ADS1115_FULL_SCALE / 2} V (SBAS444E 7.3.3: "
                          "0..3.3 V usable at VDD 3.3 V)")
    for s in hw.signals:
        if s.gpio not in PICO_GPIO_PIN:
            key = {"SDA": "[dac] sda", "SCL": "[dac] scl", "RESET": "[recurrent] reset_pin"}.get(
                s.name, "[dac] ldac_gpio" if s.name.startswith("LDAC") else "[adc] channels")
            raise ConfigError(f"{src}: {key}: {s.name} on GP{s.gpio}, which the Pico does not "
                              "bring out (GP0..GP22, GP26..GP28)")
    c = bench.circuit
    if c.kind and c.offset_trim_volts > 0:
        supply, ratio = vmid_divider(bench)
        reach = trim_reach(supply * ratio / (1 + ratio))
        if c.trim_range_volts > reach + 1e-9:
            raise ConfigError(f"{src}: [circuit] trim_range_volts: {c.trim_range_volts:g} V, but "
                              f"the trimmer reaches only +-{reach:.3f} V from this bench's VMID")
    sda_ok, scl_ok = I2C_PINS[bench.dac.i2c_id]
    if bench.dac.sda not in sda_ok or bench.dac.scl not in scl_ok:
        raise ConfigError(f"{src}: [dac] sda/scl: GP{bench.dac.sda}/GP{bench.dac.scl} are not "
                          f"I2C{bench.dac.i2c_id}'s SDA/SCL (SDA on GP{sda_ok}, SCL on GP{scl_ok})")
    seen: dict[int, str] = {}
    for s in hw.signals:
        if s.gpio in seen:
            raise ConfigError(f"{src}: GP{s.gpio} carries both {seen[s.gpio]} and {s.name}: "
                              "move [dac] ldac_gpio or [recurrent] reset_pin")
        seen[s.gpio] = s.name
