"""Lab workflows: flashing the firmware, listing attached devices, calibrating the DACs,
building a bench (schematic, parts, wiring) and checking it.

What other parts of wphil use is imported here; the modules themselves are internal.
"""

from wphil.lab.build import parts_list, wiring_table, write_tables
from wphil.lab.build_package import write_build_package
from wphil.lab.calibration import DEFAULT_POINTS, calibrate, sweep_codes, write_table
from wphil.lab.checks import (
    Check,
    check_dac_addresses,
    check_rails,
    check_reset_switch,
    check_zero_weight_readouts,
)
from wphil.lab.dac_address import (
    AddressResult,
    ChipAddress,
    address_bits_check,
    program_address,
    verify_addresses,
)
from wphil.lab.devices import list_devices, visa_resources
from wphil.lab.emulator import install_rp2040js
from wphil.lab.farm import Farm
from wphil.lab.flash import Change, FlashResult, flash
from wphil.lab.kicad import export_kicad
from wphil.lab.power import OpenDacs, power_down, power_up
from wphil.lab.schematic import draw_schematic

__all__ = ["DEFAULT_POINTS", "AddressResult", "Change", "ChipAddress", "Check", "Farm", "FlashResult",
           "OpenDacs", "address_bits_check", "calibrate", "check_dac_addresses", "check_rails",
           "check_reset_switch", "check_zero_weight_readouts", "draw_schematic", "export_kicad",
           "flash", "install_rp2040js", "list_devices", "parts_list", "power_down", "power_up",
           "program_address", "sweep_codes", "verify_addresses", "visa_resources", "wiring_table",
           "write_build_package", "write_table", "write_tables"]
