# The simulated board: the Pico's board module for the MicroPython unix port.
# `upy://` puts firmware/sim first on MICROPYPATH so `import board` finds this file,
# and names the board description (bench tables + mismatch instance, JSON, written by
# the host) in WPHIL_SIM_BOARD. The firmware above runs unchanged on these stand-ins.
import json
import os
import time

import native
from fake_i2c import FakeADS1115, FakeI2C, FakeMCP4728
from protocol import SIM_RESET
from rp2040_adc import Rp2040Adc
from stdio import Stdio

NAME = "sim"
# Paced sequences sleep until this close to each sample instant, then spin. The unix port's
# sleep overshoots by tens of microseconds, and its circuit integrates the nominal step
# (a late sample costs no accuracy here), so the Pico's 1.5 ms of spinning per step would
# only burn a host core for every upy:// board.
SLEEP_MARGIN_US = 150
FIRMWARE_ROOT = os.getenv("WPHIL_FIRMWARE_DIR") or ""    # where the firmware files are


def _load():
    path = os.getenv("WPHIL_SIM_BOARD")
    if not path:
        raise SystemExit("WPHIL_SIM_BOARD must name the simulated board's JSON file")
    with open(path) as f:
        cfg = json.load(f)
    bus = FakeI2C()
    net, bus.devices = _build(cfg)
    return net, bus, cfg.get("unique_id", ""), bool(cfg.get("paced", False))


def _build(cfg):
    """The analog network of a board description and the chips on its I2C bus."""
    net = native.load("network").SimNetwork(cfg)
    devices = {}
    dac = cfg["bench"]["dac"]
    for i in range(dac["chips"]):
        devices[0x60 + i] = FakeMCP4728(net, 4 * i, ldac_gpio=dac.get("ldac_gpio", 6) + i)
    if cfg["bench"]["adc"]["kind"] == "ads1115":
        devices[0x48] = FakeADS1115(net)
    return net, devices


NETWORK, BUS, _UNIQUE_ID, PACED = _load()
_QUANTILES = NETWORK.quantiles      # the file's normal quantiles (SIM_BOARD does not send them)
SIM_CFG = None          # the SIM_BOARD description the board was last built from (None: the file)
SIM_KEYS = ("bench", "board", "noise_seed", "read_noise_volts", "keep")


def simulate(cfg):
    """SIM_BOARD: become the board instance `cfg` describes (bench tables, mismatch instance
    "board", "noise_seed", optional "read_noise_volts": the file's keys, drawn by the host
    for the job's board_seed), exactly as a board process started with that file would be:
    new circuit, new chips, the noise generator reseeded. With "keep": true and the same
    description as the last one, nothing changes (a host configuring again after an MCU
    reset: the circuit and its noise carry on, as on a bench). Returns whether the board
    changed; raises (KeyError, TypeError, ValueError) before any change."""
    global NETWORK, SIM_CFG
    for key in cfg:
        if key not in SIM_KEYS:
            raise ValueError("unknown key %s" % key)
    keep = cfg.pop("keep", False)
    if not isinstance(keep, bool):
        raise TypeError("keep must be true or false")
    if keep and cfg == SIM_CFG:
        return False
    if not isinstance(cfg["noise_seed"], int) or isinstance(cfg["noise_seed"], bool):
        raise TypeError("noise_seed must be an int")
    full = {"normal_quantiles": _QUANTILES}
    full.update(cfg)
    net, devices = _build(full)
    NETWORK, BUS.devices, SIM_CFG = net, devices, cfg
    return True


class FakeRp2040Adc:
    """machine.ADC stand-in: read_u16 scales the 12-bit code to 16 bits like the RP2040."""

    def __init__(self, channel):
        self.channel = channel
        self.convert = NETWORK.adc_code

    def read_u16(self):
        code = self.convert(self.channel)
        return (code << 4) | (code >> 8)


# An MCU reset, injected by the host's fault injector (drivers/faults.py) as this byte
# string on the serial line: the firmware restarts (new boot id, unconfigured, its UART
# buffer lost) while the simulated circuit, the DAC chips and their noise carry on, as
# they do when a real Pico resets on a bench.
RESET_MAGIC = SIM_RESET


class SimReset(Exception):
    pass


class SimStdio(Stdio):
    def __init__(self):
        super().__init__()
        self.tail = b""

    def readinto(self, mv, timeout_ms):
        n = super().readinto(mv, timeout_ms)
        if n:
            seen = self.tail + bytes(mv[:n])
            if RESET_MAGIC in seen:
                self.tail = b""
                raise SimReset()
            self.tail = seen[-(len(RESET_MAGIC) - 1):]
        return n


def boot(run):
    """Run the firmware; on an injected MCU reset, boot it again on the same circuit."""
    import sys
    while True:
        try:
            run(sys.modules["board"])
            return
        except SimReset:
            pass


class _NoWatchdog:
    def feed(self):
        pass


def stream():
    return SimStdio()


def i2c(bus_id, sda, scl, freq):
    return BUS


def rp2040_adc(channels, oversample):
    return Rp2040Adc([FakeRp2040Adc(i) for i in range(channels)], oversample)


def settle(us):
    """The simulated converters and network settle at once: upy:// models the circuit, not
    its timing (nor I2C transfer or conversion times), so there is nothing to wait for.
    A paced board (the board file's "paced": upy://?paced=1, `wphil farm up --paced`) waits
    the settle time anyway, as the circuit makes a Pico wait: a bench's time is then
    mostly waiting, as on hardware, and not the host's CPU."""
    if PACED and us > 0:
        time.sleep_us(us)


def elapse(us):
    """Recurrent benches: the simulated circuit integrates its dynamics over `us` of circuit
    time (the nominal step: wall time in the unix port is not the circuit's)."""
    NETWORK.advance(us)


class _LdacPin:
    """A chip's LDAC line: the simulated chip sees its level (FakeMCP4728.ldac)."""

    def __init__(self, chip):
        self.chip = chip

    def value(self, level):
        self.chip.ldac(level)


def ldac_pin(gpio):
    for chip in BUS.devices.values():
        if getattr(chip, "ldac_gpio", -1) == gpio:
            return _LdacPin(chip)
    raise ValueError("no MCP4728 has its LDAC on GPIO %d" % gpio)


def reset_circuit(pin, us):
    """The capacitor reset switches: every neuron's state back to 0."""
    NETWORK.reset_state()


def watchdog(timeout_ms):
    return _NoWatchdog()


def unique_id():
    """What machine.unique_id() says, as hex: set per simulated board by the host."""
    return _UNIQUE_ID


def boot_id():
    b = os.urandom(4)
    return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
