"""firmware/sim's MCP4728 and LDAC: DS22187E Table 4-5 ("LDAC and UDAC conditions vs. output
update") and Fig. 5-8 note 1 (Multi-Write: VOUT updated after the ACK if UDAC = 0 or LDAC
= 0), which SEQUENCE relies on to change a step's inputs at the sample instant."""

from __future__ import annotations

import pytest

from wphil.firmware.sim.fake_i2c import FakeMCP4728


class Network:
    def __init__(self) -> None:
        self.codes: dict[int, int] = {}

    def set_code(self, channel: int, code: int, full: float) -> None:
        self.codes[channel] = code


def multi_write(channel: int, code: int, udac: int) -> bytes:
    return bytes((0x40 | channel << 1 | udac, 0x80 | code >> 8, code & 0xFF))


@pytest.mark.parametrize(("ldac", "udac", "updated"), [(0, 0, True), (0, 1, True),
                                                       (1, 0, True), (1, 1, False)])
def test_multi_write_updates_the_output_unless_udac_and_ldac_are_both_high(
        ldac: int, udac: int, updated: bool) -> None:
    net = Network()
    chip = FakeMCP4728(net, first_channel=8, ldac_gpio=8)
    chip.write(multi_write(3, 1000, 0))
    chip.ldac(ldac)
    chip.write(multi_write(3, 3000, udac))
    assert net.codes[11] == (3000 if updated else 1000)


def test_ldac_falling_uploads_every_held_input_register_and_only_those() -> None:
    net = Network()
    chip = FakeMCP4728(net, first_channel=0, ldac_gpio=6)
    chip.write(multi_write(0, 100, 0) + multi_write(1, 200, 0))
    chip.ldac(1)
    chip.write(multi_write(1, 2222, 1))
    chip.ldac(1)                                 # still high: nothing moves
    assert net.codes == {0: 100, 1: 200}
    chip.ldac(0)
    assert net.codes == {0: 100, 1: 2222}
    chip.ldac(1)
    chip.ldac(0)                                 # nothing held: the outputs stay
    assert net.codes == {0: 100, 1: 2222}
