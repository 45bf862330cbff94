"""A bench's tables as the simulated board's 12-bit MCP4728s see them.

The firmware drives 12-bit MCP4728s only; a bench with a coarser DAC is driven by code
scaling (its code shifted left, `dac_shift`). The simulated board (upy://, rp2040://, a
board told its instance by SIM_BOARD) needs the same tables in MCP4728 codes. Kept apart
from the serial driver so the simulated boards and the driver's strategy can both use it
without importing each other.
"""

from __future__ import annotations

from typing import Any

from wphil.drivers.bench import Bench

MCP4728_BITS = 12                     # the only DAC the firmware drives


def dac_shift(bench: Bench) -> int:
    """Bits a bench's DAC code is shifted left by to become an MCP4728 code."""
    return max(MCP4728_BITS - bench.dac.bits, 0)


def as_mcp4728(bench: Bench) -> dict[str, Any]:
    """The bench's tables as the simulated board's 12-bit MCP4728s see them: a coarser DAC
    is driven by code scaling, so its INL amplitude (in its own LSBs) and stuck code are
    rescaled to the same volts."""
    tables = bench.to_dict()
    shift = dac_shift(bench)
    tables["dac"]["bits"] = bench.dac.bits + shift
    tables["sim"]["dac_inl_lsb"] = bench.sim.dac_inl_lsb * (1 << shift)
    tables["sim"]["stuck_code"] = bench.sim.stuck_code << shift
    return tables
