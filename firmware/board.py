# The Raspberry Pi Pico: where the firmware finds its buses, converters and serial line.
# firmware/sim/board.py has the same functions backed by simulated chips, so the rest
# of the firmware runs unchanged under the MicroPython unix port.
import os
import time

import machine
from rp2040_adc import Rp2040Adc
from stdio import PicoStdio

NAME = "pico"
FIRMWARE_ROOT = ""           # the firmware files sit at the root of the board's filesystem
_ADC_PINS = (26, 27, 28)     # ADC0..ADC2


def boot(run):
    """Run the firmware once; a Pico reset restarts the whole chip, and with it main.py."""
    run(__import__("board"))


def stream():
    return PicoStdio()


def i2c(bus_id, sda, scl, freq):
    return machine.I2C(bus_id, sda=machine.Pin(sda), scl=machine.Pin(scl), freq=freq)


def rp2040_adc(channels, oversample):
    if channels > len(_ADC_PINS):
        raise ValueError("the RP2040 has %d external ADC inputs" % len(_ADC_PINS))
    return Rp2040Adc([machine.ADC(_ADC_PINS[i]) for i in range(channels)], oversample,
                     registers=True)


def settle(us):
    """Wait for the DAC outputs and the analog network to settle after a write."""
    time.sleep_us(us)


def watchdog(timeout_ms):
    # Once started the RP2040 watchdog cannot be stopped: only on request (CONFIGURE
    # watchdog_ms > 0), and then leaving to the REPL means the board resets within it.
    return machine.WDT(timeout=min(timeout_ms, 8388))


def unique_id():
    """The board's unique ID as hex: the RP2040 has none of its own, so machine.unique_id()
    is the 64-bit unique ID of the NOR flash it boots from, read once at boot (pico-sdk
    pico_unique_id: one flash per RP2040, so one ID per board)."""
    try:
        return "".join("%02x" % b for b in machine.unique_id())
    except Exception:        # a port without it: HELLO then says nothing rather than fail
        return ""


def boot_id():
    b = os.urandom(4)
    return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24


def elapse(us):
    """Recurrent benches: the analog circuit runs by itself while the firmware waits for
    the next sample instant (firmware/sim integrates its dynamics here instead)."""


def reset_circuit(pin, us):
    """Close the capacitor reset switches (GPIO `pin`, -1: none wired) for `us`; return
    the ticks_us() of their release.

    The DG412 closes within tON (250 ns max, Maxim DG411/412/413 "Electrical
    Characteristics - Single Supply", Turn-On Time), then Cint empties through RON; the
    host refuses a bench whose reset_us does not bring a full swing below half an ADC LSB
    (drivers/bench.py, wphil.drivers.chipmodels.dg412), so `us` is held as given."""
    if pin >= 0:
        switch = machine.Pin(pin, machine.Pin.OUT)
        switch.value(1)
        time.sleep_us(us)
        switch.value(0)
    return time.ticks_us()       # the release: where the sequence's first step starts


def ldac_pin(gpio):
    """An MCP4728's LDAC line (a pull-down holds it low; hardware.py's LDAC scheme) as an
    output driven low: SEQUENCE raises it while it writes the next inputs' input registers
    and drops it at the sample instant (DS22187E Table 4-5)."""
    return machine.Pin(gpio, machine.Pin.OUT, value=0)
