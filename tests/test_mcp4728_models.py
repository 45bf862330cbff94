"""Both MCP4728 models, the rp2040js one of rp2040:// (drivers/rp2040js/mcp4728.mjs through
gpio_i2c.mjs) and the Python one (wphil.drivers.chipmodels), fed the *same* pin traces: the
firmware's own pin calls recorded under CPython, replayed edge by edge into each model. Each
must acknowledge exactly the bytes DS22187E Fig. 5-11 / 5-6 notes 2a-2c allow and program
nothing else. (tests/test_rp2040.py runs the old and new sequences on the emulated Pico too.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_chip_timing import (
    LDAC0,
    SCL,
    SDA,
    node_env,
    old_write_address,
    write_address_with,
)
from wphil.drivers.chipmodels import Board
from wphil.drivers.chipmodels.mcp4728 import Mcp4728
from wphil.drivers.rp2040_pico import rp2040js_home

REPLAY = Path(__file__).parent / "support" / "replay_mcp4728.mjs"
RP2040JS = rp2040js_home() / "node_modules" / "rp2040js" / "package.json"
pytestmark = pytest.mark.skipif(shutil.which("node") is None or not RP2040JS.is_file(),
                                reason="node and rp2040js (npm ci in drivers/rp2040js, or "
                                "$WPHIL_RP2040JS) are needed")


def _falls_at(byte: int, clock: int):
    return lambda n, k, pin: pin.value(0) if (n, k) == (byte, clock) else None


def _falls_then_rises(rise: tuple[int, int]):
    return lambda n, k, pin: (pin.value(0) if (n, k) == (1, 8)
                              else pin.value(1) if (n, k) == rise else None)


# name -> (what the firmware does on a bench of 2 factory-fresh chips, want ACK of byte 3)
CASES = {
    "firmware write_address": (lambda fw: fw.write_address(SDA, SCL, LDAC0 + 1, 0x60, 0x62),
                               True),
    "old: LDAC falls while SCL is high": (lambda fw: old_write_address(fw, LDAC0 + 1, 0x60, 0x62),
                                          False),
    "LDAC low from the start": (lambda fw: write_address_with(fw, LDAC0 + 1, 0x62,
                                                              _falls_at(0, 0)), False),
    "LDAC falls one clock late": (lambda fw: write_address_with(fw, LDAC0 + 1, 0x62,
                                                                _falls_at(1, 9)), False),
    "LDAC rises before byte 3's 9th clock": (lambda fw: write_address_with(
        fw, LDAC0 + 1, 0x62, _falls_then_rises((2, 8))), False),
    "LDAC rises mid byte 3": (lambda fw: write_address_with(
        fw, LDAC0 + 1, 0x62, _falls_then_rises((2, 3))), False),
}


def record(run) -> tuple[list, dict]:
    """Run firmware code against the Python model with the pin trace on; return the trace
    and what the Python model made of it (the same form the JS replay prints)."""
    board = Board(trace=True)
    bus = board.i2c_bus(SDA, SCL)
    chips = [bus.attach(Mcp4728(board.net(LDAC0 + k))) for k in range(2)]
    acks: list[bool] = []

    def ack_watch(net, high: bool) -> None:
        if high and bus.clock_no == 9:
            acks.append(not bus.sda.level)

    board.net(SCL).listeners.append(ack_watch)
    run(board.load_firmware("dac_address"))
    return board.trace, {"acks": acks, "addresses": [c.address for c in chips],
                         "eeprom_writes": [c.eeprom_writes for c in chips]}


@pytest.fixture(scope="module")
def both() -> dict[str, tuple[dict, dict]]:
    recorded = {name: record(run) for name, (run, _) in CASES.items()}
    specs = [{"sda": SDA, "scl": SCL, "events": trace,
              "chips": [{"address": 0x60, "ldac": LDAC0 + k} for k in range(2)]}
             for trace, _ in recorded.values()]
    out = subprocess.run(["node", str(REPLAY)], input=json.dumps(specs), capture_output=True,
                         text=True, timeout=60, check=True, env=node_env()).stdout
    return {name: (py, js) for (name, (_, py)), js in zip(recorded.items(), json.loads(out))}


@pytest.mark.parametrize("case", CASES)
def test_both_mcp4728_models_ack_and_program_the_same(both, case: str) -> None:
    py, js = both[case]
    want_ack = CASES[case][1]
    assert py["acks"][2] is want_ack and js["acks"][2] is want_ack, (py, js["logs"])
    assert js["acks"] == py["acks"]
    assert js["addresses"] == py["addresses"] == ([0x60, 0x62] if want_ack else [0x60, 0x60])
    assert js["eeprom_writes"] == py["eeprom_writes"] == [0, 1 if want_ack else 0]
