"""Lab workflows: flashing the firmware, listing attached devices, calibrating the DACs.

What other parts of wphil use is imported here; the modules themselves are internal.
"""

from wphil.lab.calibration import DEFAULT_POINTS, calibrate, sweep_codes, write_table
from wphil.lab.dac_address import AddressResult, program_address
from wphil.lab.devices import list_devices
from wphil.lab.flash import Change, FlashResult, flash

__all__ = ["DEFAULT_POINTS", "AddressResult", "Change", "FlashResult", "calibrate", "flash",
           "list_devices", "program_address", "sweep_codes", "write_table"]
