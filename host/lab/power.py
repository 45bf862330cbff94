"""The bench's power sequence (docs/hardware/power.md), enforced by `wphil power` when the
supply is under pyvisa control.

Up: the analog rails first (each configured, OVP armed, switched on in [power] order and
checked out of current limit by BenchPower.on), and only then the DACs: the device is opened,
which sends CONFIGURE, and every DAC channel goes to the bench's safe code (weight zero; the
fixed reference channels to their code). Nothing drives the AD633 inputs before their rails
are up, apart from what the MCP4728s load from their EEPROM at the Pico's power-up.

Down: the DACs to their safe code first (the device must answer; `dacs=None` only when the
Pico is unplugged and nothing drives the analog side), then the rails off in reverse order.
A device that does not answer leaves the rails on: the firmware's host-silence timeout puts
the DACs safe by itself within [timing] host_timeout_ms, after which the rails may go down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from wphil.drivers.base import Device
from wphil.drivers.errors import DeviceError
from wphil.drivers.instruments.rails import BenchPower, RailStatus

log = logging.getLogger(__name__)

#: opens the bench's device (CONFIGURE included), or None: no Pico attached
OpenDacs = Callable[[], AbstractContextManager[Device]] | None


def power_up(power: BenchPower, dacs: OpenDacs) -> list[RailStatus]:
    """Rails on and checked, then the DACs configured and at their safe code."""
    status = power.on()
    if dacs is not None:
        try:
            with dacs() as device:
                device.safe()
        except DeviceError as exc:
            raise DeviceError(f"rails are on, but the DACs were not set safe: {exc}") from None
        log.info("rails on, DACs at their safe code")
    return status


def power_down(power: BenchPower, dacs: OpenDacs) -> list[RailStatus]:
    """DACs to their safe code, then the rails off in reverse order."""
    if dacs is not None:
        try:
            with dacs() as device:
                device.safe()
        except DeviceError as exc:
            raise DeviceError(f"the DACs could not be set safe ({exc}); rails left on: they go "
                              "safe by themselves after the firmware's host timeout, then run "
                              "`wphil power off --no-dacs`") from None
        log.info("DACs at their safe code; switching the rails off")
    power.off()
    return power.status()
