"""Pin-level models of the bench's chips, written from their datasheets, that firmware
modules drive under CPython through a fake `machine` (see `pins.Board`).

They are checkers as much as models: each records what it refused (`refusals`, as the chip
would, e.g. an unacknowledged byte) and what the firmware did that the datasheet does not
allow (`violations`, e.g. a command while the EEPROM is busy, a reading taken before the
conversion ended). Each rule names the datasheet figure or table it comes from.
"""

from wphil.drivers.chipmodels.i2c import I2cBus, Position, SoftI2C, Target
from wphil.drivers.chipmodels.pins import Board, Clock, Net

__all__ = ["Board", "Clock", "I2cBus", "Net", "Position", "SoftI2C", "Target"]
