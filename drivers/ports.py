"""Serial ports: find the Pico (`auto`) among what the OS lists.

The Raspberry Pi Pico running MicroPython enumerates as a USB CDC device with vendor ID
0x2E8A (Raspberry Pi); product 0x0005 is MicroPython's.
"""

from __future__ import annotations

import logging

from serial.tools import list_ports

from wphil.drivers.errors import DeviceError

log = logging.getLogger(__name__)

PICO_USB_VID = 0x2E8A
MICROPYTHON_USB_PID = 0x0005


def pico_ports() -> list:
    """The ports whose USB vendor is Raspberry Pi, sorted by name."""
    return sorted((p for p in list_ports.comports() if p.vid == PICO_USB_VID),
                  key=lambda p: p.device)


def find_pico() -> str:
    """The first Pico's port name; a DeviceError naming what was found if there is none."""
    picos = pico_ports()
    if not picos:
        others = [p.device for p in list_ports.comports()]
        seen = f" (ports present: {', '.join(others)})" if others else " (no serial ports at all)"
        raise DeviceError("no Raspberry Pi Pico found: no serial port with USB vendor "
                          f"0x{PICO_USB_VID:04X}{seen}; is it plugged in?")
    if len(picos) > 1:
        log.warning("%d Picos found; using %s", len(picos), picos[0].device)
    return picos[0].device
