"""The physical limit of an on-chip pass (host/compare/limits.py) against hand counts of the
MCP4728 writes (DS22187E Fig. 5-7 Fast Write: address + 2 bytes per channel from A;
Fig. 5-8 Multi-Write: address + 3 bytes per channel) and of the ADC time."""

from __future__ import annotations

import pytest

from wphil.compare.limits import chip_write_bytes, limit_rows, pass_limit
from wphil.drivers import load_bench


@pytest.mark.parametrize("changed, expected", [
    (set(), 0), ({0}, 3), ({0, 1}, 5), ({3}, 4),          # D alone: Multi-Write, 1 + 3
    ({1, 2}, 7), ({2, 3}, 7), ({0, 1, 2, 3}, 9), ({0, 3}, 7)])
def test_each_chip_is_written_with_the_cheaper_of_fast_write_and_multi_write(
        changed: set[int], expected: int) -> None:
    assert chip_write_bytes(changed) == expected


def test_xor_limit_matches_the_hand_count() -> None:
    # one step = 10 passes. Pass 0: chips 0, 1 all four channels (1 + 8 bytes: 83 clocks each),
    # chip 2 weight 8 and inputs 9, 10 (A..C: 1 + 6 bytes: 65). Passes k: weight k set and
    # k-1 restored: 29, 47, 65, 65, 29 + 38, 47, 65, 65, 29 + 38. Sum 748 clocks.
    limit = pass_limit(load_bench("xor-2-2-1"))
    assert limit.bus_clocks == pytest.approx(748 / 10)
    assert limit.settle_us == 550                      # 2 layers, Rf Cf = 50 us
    assert limit.adc_us == 1 * 4 * 2.0                 # 1 output x oversample 4 x 2 us
    rows = {r["i2c_hz"]: r for r in limit_rows(load_bench("xor-2-2-1"))}
    assert rows[400_000]["pass_us"] == pytest.approx(187.0 + 550 + 8)
    assert rows[400_000]["passes_per_s"] == pytest.approx(1e6 / 745.0)
    assert rows[1_000_000]["pass_us"] == pytest.approx(74.8 + 550 + 8)


def test_iris_limit_matches_the_hand_count() -> None:
    # 28 passes. Pass 0: chips 0..6 full (7 x 83), chip 7 inputs 28..30 (65): 646.
    # k = 0: 29; k % 4 = 1: 47 (x7); 2: 65 (x7); 3: 65 (x6); 0, k > 0: 29 + 38 (x6). Sum 2251.
    limit = pass_limit(load_bench("iris"))
    assert limit.bus_clocks == pytest.approx(2251 / 28)
    assert limit.adc_us == 3 * 4 * 2.0
    assert limit.pass_us(400_000) == pytest.approx(2251 / 28 * 2.5 + 550 + 24)
    assert limit.passes_per_s(400_000) == pytest.approx(1290.4, abs=0.1)


def test_the_ads1115_bench_waits_one_data_period_per_output() -> None:
    limit = pass_limit(load_bench("xor-2-2-1-ads1115"))
    assert limit.adc_us == pytest.approx(1e6 / 860)
    # plus its I2C: Config write (4 bytes), pointer (2), read (3): 38 + 20 + 29 clocks
    assert limit.bus_clocks == pytest.approx(74.8 + 87)
