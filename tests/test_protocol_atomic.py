"""An error reply changes nothing (PROTOCOL.md, "Safety"): the firmware under the MicroPython
unix port (upy://), driven with malformed CONFIGUREs and with random command sequences
(Hypothesis stateful testing); after every error reply STATUS equals STATUS before the
request, apart from `stats` and `silence_ms`."""

from __future__ import annotations

import json
import struct
import time

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from wphil.drivers import FirmwareError, load_bench, open_device
from wphil.drivers.serial_device import firmware_config
from wphil.firmware import protocol as P

BENCH = load_bench("xor-2-2-1")
N_W, N_IN = BENCH.n_weights, BENCH.n_inputs
GOOD = dict(firmware_config(BENCH), host_timeout_ms=0)   # no silence trips between STATUSes


@pytest.fixture(scope="module")
def board():
    with open_device("upy://?timeout=1&noise=0&drift=0", BENCH) as dev:
        yield dev


def exchange(dev, cmd: int, payload: bytes) -> int:
    """Send one request (no recovery); the error code, or 0 for a good reply."""
    try:
        dev.link.request(cmd, payload)
        return 0
    except FirmwareError as exc:
        return exc.code


def status(dev) -> dict:
    state = json.loads(dev.link.request(P.STATUS))
    del state["stats"], state["silence_ms"]
    return state


def reset(dev) -> None:
    """The simulated MCU reset: an unconfigured board with a new boot id."""
    dev.port.write(P.SIM_RESET)
    time.sleep(0.05)
    dev.link.drain()


BAD_CONFIGURES = [
    ("safe_code", 2048.5), ("min_code", 0.5), ("max_code", 4096), ("safe_code", -1),
    ("min_code", True), ("layers", [2, 2.0, 1]), ("weights", [0, 1, 2]), ("inputs", "9,10"),
    ("outputs", [7]), ("hidden", [0.0]), ("settle_us", -1), ("host_timeout_ms", 1.5),
    ("watchdog_ms", 100000), ("feedback", 1), ("reset_pin", 30), ("fixed", [[11]]),
    ("fixed", [[0, 2000]]), ("dac", {"kind": "mcp4728"}), ("adc", None), ("unknown_key", 1),
    ("min_code", 3000),                       # min above safe
]


@pytest.mark.parametrize("configured", [False, True], ids=["unconfigured", "configured"])
def test_every_malformed_configure_is_refused_and_changes_nothing(board, configured) -> None:
    reset(board)
    if configured:
        assert exchange(board, P.CONFIGURE, json.dumps(GOOD).encode()) == 0
        assert exchange(board, P.SET_CODES, struct.pack(f"<{N_W}H", *[3000] * N_W)) == 0
    before = status(board)
    for field, value in BAD_CONFIGURES:
        cfg = dict(GOOD, **{field: value})
        for form in (json.dumps(cfg).encode(), short_form(cfg)):    # object and short form
            assert exchange(board, P.CONFIGURE, form) == P.ERR_BAD_PAYLOAD, (field, form)
            assert status(board) == before, (field, value)
    for payload in (b"", b"[]", b"{", b"null", b"\xff"):
        assert exchange(board, P.CONFIGURE, payload) == P.ERR_BAD_PAYLOAD, payload
        assert status(board) == before, payload


def test_commands_that_take_no_payload_refuse_one_and_do_nothing(board) -> None:
    reset(board)
    assert exchange(board, P.CONFIGURE, json.dumps(GOOD).encode()) == 0
    assert exchange(board, P.SET_CODES, struct.pack(f"<{N_W}H", *[3000] * N_W)) == 0
    before = status(board)
    for cmd in (P.SAFE, P.STOP, P.EXIT, P.STATUS):
        assert exchange(board, cmd, b"\x00") == P.ERR_BAD_LENGTH, P.COMMAND_NAMES[cmd]
        assert status(board) == before
    assert board.board.proc.poll() is None            # EXIT with a payload did not exit


def test_sequence_on_a_feed_forward_bench_is_bad_payload(board) -> None:
    reset(board)
    assert exchange(board, P.CONFIGURE, json.dumps(GOOD).encode()) == 0
    request = struct.pack("<BHHI", P.E_HELD, 0, 1, 100) + struct.pack(f"<{N_IN}H", *[1000] * N_IN)
    assert exchange(board, P.SEQUENCE, request) == P.ERR_BAD_PAYLOAD


def test_zero_vectors_or_patterns_get_an_empty_reply_and_write_nothing(board) -> None:
    reset(board)
    assert exchange(board, P.CONFIGURE, json.dumps(GOOD).encode()) == 0
    before = status(board)
    codes = struct.pack(f"<{N_W}H", *[3000] * N_W)
    inputs = struct.pack(f"<{N_IN}H", *[1000] * N_IN)
    assert board.link.request(P.EVALUATE, struct.pack("<BHH", 0, 0, 1) + inputs) == b""
    assert board.link.request(P.EVALUATE, struct.pack("<BHH", 0, 1, 0) + codes) == b""
    assert board.link.request(P.PERTURB, struct.pack("<BHH", 0, 0, 0) + codes) == b""
    assert status(board) == before


# -- random command sequences ---------------------------------------------------------------

u16 = st.integers(0, 0xFFFF)
code = st.one_of(st.integers(0, 4095), u16)


def codes_bytes(n: int) -> st.SearchStrategy[bytes]:
    return st.lists(code, min_size=n, max_size=n).map(lambda c: struct.pack(f"<{len(c)}H", *c))


def batch_request() -> st.SearchStrategy[bytes]:
    """EVALUATE/PERTURB/SEQUENCE-shaped payloads: small counts, flags, codes, maybe cut."""
    head = st.tuples(st.integers(0, 15), st.integers(0, 3), st.integers(0, 3))
    return st.builds(lambda h, body, cut: (struct.pack("<BHH", *h) + body)[:cut],
                     head, st.binary(max_size=4 * N_W + 8) | codes_bytes(N_W + 2 * N_IN),
                     st.integers(0, 80))


def short_form(cfg: dict) -> bytes:
    """CONFIGURE's short (list) form of `cfg`, bad values and all; unknown fields appended."""
    values = [cfg.get(k) for k in P.CONFIG_ORDER]
    for name, order in (("dac", P.DAC_ORDER), ("adc", P.ADC_ORDER)):
        sub = values[P.CONFIG_ORDER.index(name)]
        if isinstance(sub, dict):
            values[P.CONFIG_ORDER.index(name)] = [sub.get(k) for k in order]
    values += [v for k, v in cfg.items() if k not in P.CONFIG_ORDER]    # too many: refused
    return json.dumps(values).encode()


def configure_payload() -> st.SearchStrategy[bytes]:
    fields = st.sampled_from(BAD_CONFIGURES)
    bad = fields.map(lambda fv: json.dumps(dict(GOOD, **{fv[0]: fv[1]})).encode())
    bad_short = fields.map(lambda fv: short_form(dict(GOOD, **{fv[0]: fv[1]})))
    return st.one_of(st.just(json.dumps(GOOD).encode()), st.just(short_form(GOOD)), bad,
                     bad_short, st.binary(max_size=20))


class BoardMachine(RuleBasedStateMachine):
    """Random requests; after each error reply the state STATUS shows is unchanged."""

    dev = None

    @initialize(fresh=st.booleans())
    def start(self, fresh: bool) -> None:
        if fresh:
            reset(self.dev)

    def send(self, cmd: int, payload: bytes) -> None:
        assume(P.SIM_RESET not in payload)     # the simulated board's reset: not a request
        before = status(self.dev)
        err = exchange(self.dev, cmd, payload)
        assert err != P.ERR_INTERNAL
        if err:
            assert status(self.dev) == before, (P.COMMAND_NAMES.get(cmd, cmd), payload, err)

    @rule(payload=configure_payload())
    def configure(self, payload: bytes) -> None:
        self.send(P.CONFIGURE, payload)

    @rule(payload=st.one_of(codes_bytes(N_W), st.binary(max_size=2 * N_W + 2)))
    def set_codes(self, payload: bytes) -> None:
        self.send(P.SET_CODES, payload)

    @rule(cmd=st.sampled_from([P.EVALUATE, P.PERTURB, P.SEQUENCE]), payload=batch_request())
    def batch(self, cmd: int, payload: bytes) -> None:
        self.send(cmd, payload)

    @rule(channel=st.integers(0, 255), value=code, extra=st.binary(max_size=2))
    def set_channel(self, channel: int, value: int, extra: bytes) -> None:
        self.send(P.SET_CHANNEL, struct.pack("<BH", channel, value) + extra)

    @rule(cmd=st.sampled_from([P.SAFE, P.STOP, P.STATUS, P.EXIT, P.TRAIN, P.HELLO, 0x0E, 0xFF]),
          payload=st.binary(min_size=1, max_size=8))
    def other(self, cmd: int, payload: bytes) -> None:
        self.send(cmd, payload)           # each with a payload it must refuse (or ignore)

    @rule()
    def safe(self) -> None:
        self.send(P.SAFE, b"")

    @invariant()
    def alive(self) -> None:
        assert self.dev.board.proc.poll() is None


@pytest.mark.slow
def test_random_command_sequences_leave_status_unchanged_after_every_error_reply(board) -> None:
    BoardMachine.dev = board
    BoardMachine.TestCase.settings = settings(
        max_examples=25, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    BoardMachine.TestCase().runTest()
