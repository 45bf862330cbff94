"""`wphil dac-address --verify` and its check line, without a board: usage errors and what a
builder reads for each chip state (the board runs are in tests/test_rp2040.py)."""

from __future__ import annotations

from click.testing import CliRunner

from wphil.cli import cli
from wphil.lab import ChipAddress, address_bits_check


def test_verify_takes_no_chip_and_programming_needs_chip_and_to() -> None:
    runner = CliRunner()
    both = runner.invoke(cli, ["dac-address", "--verify", "--chip", "1"])
    assert both.exit_code == 2 and "without --chip/--to" in both.output
    neither = runner.invoke(cli, ["dac-address", "--to", "0x61"])
    assert neither.exit_code == 2 and "give --chip and --to (or --verify)" in neither.output


def test_check_line_names_each_failing_chip_and_the_command_that_fixes_it() -> None:
    chips = [ChipAddress(0, 6, 0x60, 0, 0), ChipAddress(1, 7, 0x61, 0, 0),
             ChipAddress(2, 8, 0x62, None, None), ChipAddress(3, 9, 0x63, 3, 5)]
    assert [c.ok for c in chips] == [True, False, False, False]
    check = address_bits_check(chips)
    assert not check.ok
    assert "MCP4728 #1 (LDAC GP7): at 0x60" in check.detail
    assert "--chip 1 --from 0x60 --to 0x61" in check.detail
    assert "MCP4728 #2 (LDAC GP8): no answer to its LDAC" in check.detail
    assert "EEPROM bits 3, register bits 5" in check.detail          # EEPROM != register
    assert address_bits_check(chips[:1]).ok
