"""The short forms of protocol 2 (drivers/compact.py) and the SEQUENCE duration bound,
against the real firmware under the MicroPython unix port (upy://)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from wphil.drivers import ConfigError, load_bench, open_device
from wphil.drivers.compact import brief_hello, sequence_rows, sequence_timeout, short_config
from wphil.drivers.errors import FirmwareError
from wphil.drivers.serial_device import firmware_config
from wphil.firmware import protocol as P


def test_the_short_configure_is_the_object_in_the_documented_order_and_a_third_its_size() -> None:
    config = firmware_config(load_bench("xor-2-2-1"))
    short = short_config(config)
    values = json.loads(short)
    assert values[P.CONFIG_ORDER.index("dac")][P.DAC_ORDER.index("i2c_hz")] == 400000
    assert values[P.CONFIG_ORDER.index("watchdog_ms")] is None          # not sent: the default
    assert values[P.CONFIG_ORDER.index("fixed")] == [[11, 2048]]
    assert len(short) < 0.4 * len(json.dumps(config, separators=(",", ":")))
    with pytest.raises(ValueError, match="colour"):
        short_config(dict(config, colour=1))


def test_the_brief_hello_decodes_to_the_full_hellos_keys() -> None:
    reply = struct.pack(P.HELLO_BRIEF_FORMAT, 2, 0, 3, 0, 0xDEADBEEF, 0b01)
    hello = brief_hello(reply, {"files": "abc", "boot_id": 1})
    assert hello == {"files": "abc", "protocol": 2, "firmware": "0.3.0", "boot_id": 0xDEADBEEF,
                     "configured": True, "safe": False}


def test_sequences_are_split_to_pace_at_most_ten_seconds_and_a_longer_row_is_refused() -> None:
    assert sequence_rows(100, 10, 2000, 5000) == 100                    # 2.5 s in all
    assert sequence_rows(1000, 10, 2000, 5000) == 400                   # 400 x 25 ms = 10 s
    with pytest.raises(ConfigError, match="over the 10 s one SEQUENCE request"):
        sequence_rows(10, 3, 4_000_000, 0)
    assert sequence_timeout(10, 10, 2000, 5000, 2.0) is None            # 0.25 s: the link's own
    assert sequence_timeout(400, 10, 2000, 5000, 2.0, factor=1.0) == pytest.approx(12.0)
    assert sequence_timeout(400, 10, 2000, 5000, 2.0) == pytest.approx(22.0)    # a Pico: 2x
    assert sequence_timeout(10, 10, 2000, 5000, 2.0, factor=60.0) == pytest.approx(17.0)


def test_the_firmware_refuses_a_sequence_over_its_bound_and_changes_nothing() -> None:
    bench = load_bench("delayed-xor")
    with open_device("upy://?noise=0&drift=0", bench) as dev:
        dev.set_codes(np.full(bench.n_weights, 2000))
        before = {k: v for k, v in dev.status().items() if k not in ("stats", "silence_ms")}
        steps, step_us = 3, 4_000_000                                   # 12 s > 10 s
        payload = (struct.pack("<BHHI", P.E_HELD, 0, steps, step_us)
                   + struct.pack(f"<{steps * bench.n_inputs}H", *[1000] * steps * bench.n_inputs))
        with pytest.raises(FirmwareError, match="over the 10000 ms a request may take") as err:
            dev.link.request(P.SEQUENCE, payload)
        assert err.value.code == P.ERR_BAD_PAYLOAD
        after = {k: v for k, v in dev.status().items() if k not in ("stats", "silence_ms")}
        assert after == before


def test_protocol_md_shows_the_short_configure_the_host_sends_for_xor() -> None:
    from wphil.firmware import firmware_dir
    doc = (firmware_dir() / "PROTOCOL.md").read_text()
    example = short_config(firmware_config(load_bench("xor-2-2-1"))).decode()
    assert f"`{example}`" in doc


def test_a_damaged_line_asks_for_replies_of_about_half_a_byte_error_interval() -> None:
    import serial

    from wphil.drivers.link import MIN_REPLY_BUDGET, Link
    link = Link(serial.serial_for_url("loop://"))
    assert link.reply_budget() == P.MAX_PAYLOAD                     # clean so far: no limit
    link.stats.update(retries=12, bytes_in=500, bytes_out=500)      # 1.2 % trouble per byte
    assert link.reply_budget() == 41
    link.stats.update(retries=900)
    assert link.reply_budget() == MIN_REPLY_BUDGET
