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


def usb_serial_number(port: str) -> str | None:
    """The USB serial number of a local port, to find the same board after it re-enumerates."""
    for info in list_ports.comports():
        if info.device == port:
            return info.serial_number
    return None


def explain_open_error(name: str, exc: Exception) -> str:
    text = str(exc)
    if "Permission denied" in text or "Errno 13" in text:
        return (f"cannot open {name}: permission denied; add yourself to the serial group "
                f"(sudo usermod -aG dialout $USER, then log in again)")
    if "busy" in text.lower() or "Errno 16" in text or "exclusively lock" in text:
        return f"cannot open {name}: port busy (another program, e.g. a serial monitor, has it open)"
    if "No such file" in text or "Errno 2" in text or "could not open port" in text:
        return f"cannot open {name}: no such port (see `wphil devices`)"
    return f"cannot open {name}: {text}"
