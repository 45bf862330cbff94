"""SIM_BOARD: a simulated board that stays up takes each job's board instance from the host."""

from __future__ import annotations

import json
import logging
import struct

from tests.test_protocol_doc import BAD_PAYLOAD, CONFIG, CONFIGURE, EVALUATE, HELLO, board  # noqa: F401
from wphil.drivers import load_bench
from wphil.drivers.sim_seeds import applies, sim_board_payload, split_sim_options

SIM_BOARD = 0x0E                                  # from PROTOCOL.md
SEEDS = {"board_seed": 5, "noise_seed": 105}


def _sim_board(keep: bool = False, **changes) -> bytes:
    cfg = json.loads(sim_board_payload(load_bench("xor-2-2-1"), SEEDS, keep))
    return json.dumps({**cfg, **changes}).encode()


def _configured(board) -> bool:  # noqa: F811
    return json.loads(board.ok(HELLO))["configured"]


def _readings(board) -> bytes:  # noqa: F811
    """CONFIGURE, then 3 weight vectors x 4 patterns."""
    board.ok(CONFIGURE, json.dumps(CONFIG).encode())
    codes = struct.pack("<27H", *range(1000, 3700, 100))
    inputs = struct.pack("<8H", 1000, 1000, 1000, 3000, 3000, 1000, 3000, 3000)
    return board.ok(EVALUATE, struct.pack("<BHH", 0, 3, 4) + codes + inputs)


def test_sim_board_starts_the_instance_afresh_unless_asked_to_keep_it(board) -> None:  # noqa: F811
    assert json.loads(board.ok(SIM_BOARD, _sim_board())) == {"changed": True}
    assert not _configured(board)             # a new board: unconfigured, as after power-on
    first = _readings(board)
    assert json.loads(board.ok(SIM_BOARD, _sim_board())) == {"changed": True}
    assert _readings(board) == first          # the same instance and noise stream, afresh
    assert json.loads(board.ok(SIM_BOARD, _sim_board(keep=True))) == {"changed": False}
    assert _configured(board)                 # kept: still configured ...
    assert _readings(board) != first          # ... and its noise carries on


def test_a_bad_sim_board_is_refused_and_changes_nothing(board) -> None:  # noqa: F811
    board.ok(SIM_BOARD, _sim_board())
    first = _readings(board)
    board.ok(SIM_BOARD, _sim_board())
    for payload in (_sim_board(colour="red"), _sim_board(noise_seed=1.5),
                    _sim_board(noise_seed=True), b"{}", b"[]", b"not json"):
        assert board.error(SIM_BOARD, payload) == BAD_PAYLOAD, payload
    assert _readings(board) == first          # the board the last good request made


def test_the_seed_options_are_taken_out_of_any_url_and_a_real_board_ignores_them(caplog) -> None:
    assert split_sim_options("socket://lab:4001?seed=3&board_seed=4") == \
        ("socket://lab:4001", {"seed": "3", "board_seed": "4"})
    assert split_sim_options("serial:///dev/x?timeout=2&seed=3")[0] == "serial:///dev/x?timeout=2"
    with caplog.at_level(logging.INFO):
        assert not applies({"board": "pico"}, "/dev/ttyACM0", SEEDS)
        assert applies({"board": "sim"}, "/dev/pts/3", SEEDS)
    assert "/dev/ttyACM0 is a real board (pico): board_seed=5 and seed=105 do not apply" \
        in caplog.text


def test_a_paced_board_waits_the_settle_time_for_every_pattern_and_reads_the_same() -> None:
    """upy://?paced=1 (`wphil farm up --paced`): the board sleeps the bench's settle time
    where a Pico waits for the circuit, so a bench's time is waiting, as on hardware. Sleep
    never ends early, so the lower bound holds on any machine; the readings are unchanged."""
    import time

    import numpy as np

    from wphil.drivers import open_device

    bench = load_bench("xor-2-2-1")
    inputs = np.array([[1000, 1000], [1000, 3000], [3000, 1000], [3000, 3000]])
    codes = np.tile(np.arange(1000, 1900, 100), (25, 1))         # 25 vectors x 4 patterns
    readings = {}
    for url in ("upy://?paced=1", "upy://"):
        with open_device(url, bench) as device:
            device.evaluate(inputs, codes[0])                     # configured, warm
            start = time.perf_counter()
            readings[url] = device.evaluate(inputs, codes)
            readings[url + " s"] = time.perf_counter() - start
    passes = codes.shape[0] * len(inputs)
    assert readings["upy://?paced=1 s"] >= passes * bench.timing.settle_us * 1e-6
    assert np.array_equal(readings["upy://?paced=1"], readings["upy://"])
