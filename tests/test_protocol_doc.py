"""A protocol client written from firmware/PROTOCOL.md alone, against the real firmware.

Every constant here is copied from the document, not imported from `protocol.py`: if the
firmware and its document drift apart, this client stops interoperating and these tests
fail. Only the simulated board is started with wphil's own helper (that is not protocol).
"""

from __future__ import annotations

import json
import re
import struct
import time
import zlib
from pathlib import Path

import pytest
import serial

from wphil.drivers import load_bench
from wphil.drivers.upy import SimBoardProcess, sim_board_file
from wphil.firmware import firmware_dir

# -- from PROTOCOL.md ------------------------------------------------------------------------
SYNC = b"\xa5\x5a"
REPLY, ERROR, EVENT = 0x01, 0x02, 0x04
HELLO, CONFIGURE, SET_CODES, EVALUATE, PERTURB, SET_CHANNEL = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
SAFE, PING, TRAIN, STOP, EXIT, STATUS, SEQUENCE = 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D
HIDDEN, HELD, NO_BASE = 0x01, 0x02, 0x04
BAD_LENGTH, BAD_CRC, RANGE, NOT_CONFIGURED, BAD_PAYLOAD, BUSY = 2, 3, 4, 5, 6, 7
SIM_RESET = bytes.fromhex("0000" + b"WPHIL-SIM-MCU-RESET".hex() + "0000")
N_W, N_IN = 9, 2                                  # layers [2, 2, 1]: (2+1)*2 + (2+1)*1
LO, HI, SAFE_CODE = 100, 4000, 2048
CONFIG = {"layers": [2, 2, 1], "weights": list(range(9)), "inputs": [9, 10], "outputs": [0],
          "hidden": [1, 2], "dac": {"kind": "mcp4728", "chips": 3, "bits": 12, "vref": 2.048,
                                    "i2c_id": 0, "sda": 4, "scl": 5, "i2c_hz": 400000},
          "adc": {"kind": "rp2040", "channels": 3, "bits": 12, "vref": 3.3, "oversample": 4},
          "min_code": LO, "max_code": HI, "safe_code": SAFE_CODE, "settle_us": 10,
          "host_timeout_ms": 2000}
# the short forms (protocol 2): CONFIGURE as a list in the table's order, HELLO "brief"
SHORT_CONFIG = [[2, 2, 1], list(range(9)), [9, 10], [0], [1, 2],
                ["mcp4728", 3, 12, 2.048, 0, 4, 5, 400000], ["rp2040", 3, 12, 3.3, 4],
                LO, HI, SAFE_CODE, 10, 10_000]
XOR_INPUTS = [1000, 1000, 1000, 3000, 3000, 1000, 3000, 3000]


def frame(cmd: int, seq: int, payload: bytes = b"", flags: int = 0) -> bytes:
    fields = struct.pack("<BBHH", cmd, flags, seq, len(payload))
    crc = zlib.crc32(fields + payload)                   # SYNC and HCHK are not included
    return SYNC + fields + bytes((zlib.crc32(fields) & 0xFF,)) + payload + struct.pack("<I", crc)


class Client:
    def __init__(self, port: serial.Serial) -> None:
        self.port, self.buf, self.seq = port, b"", 100

    def send(self, cmd: int, payload: bytes = b"", seq: int | None = None) -> int:
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.port.write(frame(cmd, seq, payload))
        return seq

    def frames(self, until, timeout: float = 5.0) -> list[tuple]:
        """Frames (cmd, flags, seq, payload) read until `until(frames)` is true."""
        got, deadline = [], time.monotonic() + timeout
        while not until(got):
            assert time.monotonic() < deadline, f"no answer; got {got}"
            self.buf += self.port.read(self.port.in_waiting or 1)
            while (start := self.buf.find(SYNC)) >= 0 and len(self.buf) - start >= 9:
                head = self.buf[start:start + 9]
                cmd, flags, seq, length = struct.unpack("<BBHH", head[2:8])
                assert head[8] == zlib.crc32(head[2:8]) & 0xFF, head.hex()
                end = start + 9 + length + 4
                if len(self.buf) < end:
                    break
                payload = self.buf[start + 9:end - 4]
                assert struct.unpack("<I", self.buf[end - 4:end])[0] == zlib.crc32(head[2:8] + payload)
                got.append((cmd, flags, seq, payload))
                self.buf = self.buf[end:]
        return got

    def ask(self, cmd: int, payload: bytes = b"", seq: int | None = None) -> tuple[int, bytes]:
        """(flags, payload) of the reply to one request."""
        seq = self.send(cmd, payload, seq)
        replies = self.frames(lambda fs: any(f[2] == seq and not f[1] & EVENT for f in fs))
        cmd_, flags, _, payload = [f for f in replies if f[2] == seq and not f[1] & EVENT][0]
        assert cmd_ == cmd and flags & REPLY
        return flags, payload

    def ok(self, cmd: int, payload: bytes = b"") -> bytes:
        flags, reply = self.ask(cmd, payload)
        assert not flags & ERROR, reply
        return reply

    def error(self, cmd: int, payload: bytes = b"") -> int:
        flags, reply = self.ask(cmd, payload)
        assert flags == REPLY | ERROR and reply[1:].decode(), (flags, reply)
        return reply[0]

    def status(self) -> dict:
        return json.loads(self.ok(STATUS))


@pytest.fixture
def board(tmp_path: Path):
    sim = SimBoardProcess(sim_board_file(load_bench("xor-2-2-1"), tmp_path, {"noise": 0.0}),
                          tmp_path)
    port = serial.Serial(sim.port, timeout=0.05)
    client = Client(port)
    try:
        client.frames(lambda fs: True)
        yield client
    finally:
        port.close()
        sim.stop()


def configured(client: Client, host_timeout_ms: int = 10_000) -> Client:
    config = dict(CONFIG, host_timeout_ms=host_timeout_ms)
    reply = json.loads(client.ok(CONFIGURE, json.dumps(config).encode()))
    assert reply == {"dac_channels": 12, "adc_channels": 3}
    return client


def u16(*codes: int) -> bytes:
    return struct.pack(f"<{len(codes)}H", *codes)


def test_the_documents_example_frame_is_what_the_firmware_speaks(board) -> None:
    doc = (firmware_dir() / "PROTOCOL.md").read_text()
    example = re.search(r"payload `68 69` is\s*`([0-9a-f ]+)`", doc).group(1)
    assert frame(PING, 1, b"hi").hex(" ") == example
    board.port.write(bytes.fromhex(example))
    assert board.frames(lambda fs: fs) == [(PING, REPLY, 1, b"hi")]


def test_hello_fields_and_the_data_plane_before_configure(board) -> None:
    hello = json.loads(board.ok(HELLO, b"x"))
    assert hello["protocol"] == 2 and hello["configured"] is False and hello["safe"] is True
    assert isinstance(hello["boot_id"], int) and re.fullmatch(r"[0-9a-f]{16}", hello["files"])
    assert hello["max_payload"] == 8192 and hello["dac_addresses"] == [0x60, 0x61, 0x62]
    for cmd in (SET_CODES, EVALUATE, PERTURB, SET_CHANNEL, TRAIN):
        assert board.error(cmd, b"") == NOT_CONFIGURED
    assert board.ok(SAFE) == b""                      # not data plane


def test_crc_cache_and_error_replies_as_documented(board) -> None:
    configured(board)
    bad = bytearray(frame(SET_CODES, 7, u16(*[2000] * N_W)))
    bad[-5] ^= 0x10
    board.port.write(bytes(bad))
    assert board.frames(lambda fs: fs) == [(SET_CODES, REPLY | ERROR, 7,
                                            bytes((BAD_CRC,)) + b"bad CRC, frame dropped")]
    assert board.ask(SET_CODES, u16(*[2000] * N_W), seq=7) == (REPLY, b"")
    repeats = board.status()["stats"]["repeats"]
    board.port.write(bytes(bad))                       # BAD_CRC leaves the cache alone
    board.frames(lambda fs: fs)
    assert board.ask(SET_CODES, u16(*[2000] * N_W), seq=7) == (REPLY, b"")
    # an error to an executed request replaces the cache: its repeat gets the same error
    out_of_range = u16(*[2000] * 8, HI + 1)
    first = board.ask(SET_CODES, out_of_range, seq=8)
    assert first[0] == REPLY | ERROR and first[1][0] == RANGE
    assert board.ask(SET_CODES, out_of_range, seq=8) == first
    assert board.status()["stats"]["repeats"] == repeats + 2
    assert board.status()["held"] == [2000] * N_W


def test_evaluate_and_perturb_layouts_held_and_a_weight_named_twice(board) -> None:
    configured(board)
    board.ok(SET_CODES, u16(*range(1000, 1000 + 100 * N_W, 100)))
    held = board.ok(EVALUATE, struct.pack("<BHH", HELD | HIDDEN, 1, 4) + u16(*XOR_INPUTS))
    assert len(held) == 2 * 1 * 4 * 3                          # B x P x R, R = 1 + 2 hidden
    codes = u16(*range(1000, 1000 + 100 * N_W, 100))
    explicit = board.ok(EVALUATE, struct.pack("<BHH", HIDDEN, 1, 4) + codes + u16(*XOR_INPUTS))
    assert explicit == held
    assert board.error(EVALUATE, struct.pack("<BHH", HELD, 2, 4) + u16(*XOR_INPUTS)) == BAD_PAYLOAD
    one = bytes((1,)) + struct.pack("<Bh", 3, 40)
    perturbed = board.ok(PERTURB, struct.pack("<BHH", HELD, 1, 4) + one + u16(*XOR_INPUTS))
    assert len(perturbed) == 2 * 2 * 4                         # (1 + K) x P x R, R = 1
    outputs = struct.unpack("<12H", held)[0::3]                # readouts: output, hidden...
    assert struct.unpack("<8H", perturbed)[:4] == outputs      # row 0 is the base
    twice = bytes((2,)) + struct.pack("<BhBh", 3, 40, 3, 2)
    assert board.error(PERTURB, struct.pack("<BHH", HELD, 1, 4) + twice + u16(*XOR_INPUTS)) \
        == BAD_PAYLOAD


def train_job(**changes) -> bytes:
    job = {"inputs": XOR_INPUTS, "labels": [0, 1, 1, 0], "target_codes": [1000, 3000],
           "threshold": 2000, "lr": [0.02] * N_W, "pert": [20] * N_W,
           "codes": [2048] * N_W, "epochs": 3, "max_queries": 0, "target_accuracy": 1.0,
           "target_loss": 0, "seed": 1, "shuffle": True}
    job.update(changes)
    return json.dumps({k: v for k, v in job.items() if v is not None}).encode()


@pytest.mark.parametrize("changes,code", [
    ({"codes": [2048] * 8 + [HI + 1]}, RANGE),
    ({"codes": [2048] * 8 + [LO - 1]}, RANGE),
    ({"inputs": XOR_INPUTS[:-1] + [50]}, RANGE),
    ({"lr": 0.02}, BAD_PAYLOAD), ({"pert": 20}, BAD_PAYLOAD),
    ({"codes": [2048] * 8}, BAD_PAYLOAD), ({"target_codes": [1000]}, BAD_PAYLOAD),
    ({"epochs": "3"}, BAD_PAYLOAD), ({"epochs": 0}, BAD_PAYLOAD),
    ({"labels": [0, 1, 2, 0]}, BAD_PAYLOAD), ({"labels": [0, 1, 1]}, BAD_PAYLOAD),
    ({"lr": [0.02] * 8 + ["x"]}, BAD_PAYLOAD), ({"shuffle": 1}, BAD_PAYLOAD),
    ({"target_accuracy": 2}, BAD_PAYLOAD), ({"epochs": None}, BAD_PAYLOAD),
    ({"lerning_rate": 1}, BAD_PAYLOAD), ({"pert": [3000] * N_W}, RANGE),
])
def test_a_bad_train_request_is_refused_whole_before_anything_happens(board, changes, code) -> None:
    configured(board)
    board.ok(SET_CODES, u16(*[1500] * N_W))
    before = board.status()["dac_codes"]
    seq = board.send(TRAIN, train_job(**changes))
    replies = board.frames(lambda fs: any(f[2] == seq for f in fs))
    assert [f[1] for f in replies] == [REPLY | ERROR]      # no EVENT came first
    assert replies[0][3][0] == code, replies[0][3]
    assert board.status()["dac_codes"] == before


def test_train_events_reply_and_the_query_count_per_epoch(board) -> None:
    configured(board)
    seq = board.send(TRAIN, train_job(target_accuracy=1.0, epochs=3, target_loss=0))
    frames = board.frames(lambda fs: any(f[2] == seq and not f[1] & EVENT for f in fs))
    events = [f for f in frames if f[1] == REPLY | EVENT]
    assert all(f[0] == TRAIN and f[2] == seq for f in frames)
    reply = json.loads(frames[-1][3])
    assert frames[-1][1] == REPLY and reply["stop"] in ("converged", "max_epochs")
    per_epoch = (N_W + 1) * 4 + 4
    for i, e in enumerate(json.loads(f[3]) for f in events):
        assert e["epoch"] == i + 1 and e["queries"] == (i + 1) * per_epoch
        assert len(e["codes"]) == N_W and 0 <= e["accuracy"] <= 1
    assert reply["queries"] == reply["epochs"] * per_epoch == len(events) * per_epoch


def test_stop_is_answered_before_the_train_reply(board) -> None:
    configured(board)
    seq = board.send(TRAIN, train_job(epochs=10**6, target_accuracy=1.0, target_loss=1e-9))
    board.frames(lambda fs: any(f[1] & EVENT for f in fs))
    assert board.error(SET_CODES, u16(*[2000] * N_W)) == BUSY
    status = board.status()
    assert status["training"] is True and isinstance(status["silence_ms"], int)
    stop = board.send(STOP)
    frames = board.frames(lambda fs: any(f[2] == seq and not f[1] & EVENT for f in fs))
    order = [(f[0], f[2]) for f in frames if not f[1] & EVENT]
    assert order == [(STOP, stop), (TRAIN, seq)]
    assert json.loads(frames[-1][3])["stop"] == "stopped"
    assert json.loads([f for f in frames if f[0] == STOP][0][3]) == {"training": True}


def test_host_silence_stops_on_chip_training_with_the_dacs_safe(board) -> None:
    configured(board, host_timeout_ms=400)
    seq = board.send(TRAIN, train_job(epochs=10**6, target_accuracy=1.0, target_loss=1e-9))
    frames = board.frames(lambda fs: any(f[2] == seq and not f[1] & EVENT for f in fs), 10)
    assert json.loads(frames[-1][3])["stop"] == "host_silent"
    status = board.status()
    assert status["safe"] and status["dac_codes"] == [SAFE_CODE] * 12
    assert status["stats"]["silence_trips"] == 1 and status["silence_ms"] >= 400


def test_status_silence_is_the_silence_before_it(board) -> None:
    board.status()
    time.sleep(0.3)
    assert board.status()["silence_ms"] >= 250


def test_the_sim_reset_bytes_restart_the_firmware(board) -> None:
    configured(board)
    boot = json.loads(board.ok(HELLO))["boot_id"]
    board.port.write(SIM_RESET)
    time.sleep(0.3)
    hello = json.loads(board.ok(HELLO))
    assert hello["boot_id"] != boot and hello["configured"] is False


def without_counters(status: dict) -> dict:
    return {k: v for k, v in status.items() if k not in ("stats", "silence_ms")}


@pytest.mark.parametrize("field,value", [
    ("safe_code", 2048.5), ("min_code", 0.5), ("max_code", 2048.0), ("settle_us", True),
    ("layers", [2, 2]), ("weights", [0, 1]), ("outputs", [12]), ("hidden", [-1]),
    ("dac", dict(CONFIG["dac"], chips=9)), ("adc", dict(CONFIG["adc"], extra=1)),
    ("host_timeout_ms", -1), ("watchdog_ms", 10_000), ("fixed", [[0, 2048]]), ("colour", "red"),
])
def test_a_refused_configure_changes_nothing(board, field, value) -> None:
    before_unconfigured = without_counters(board.status())
    assert board.error(CONFIGURE, json.dumps(dict(CONFIG, **{field: value})).encode()) == BAD_PAYLOAD
    assert without_counters(board.status()) == before_unconfigured
    configured(board)
    board.ok(SET_CODES, u16(*[3000] * N_W))
    before = without_counters(board.status())
    assert board.error(CONFIGURE, json.dumps(dict(CONFIG, **{field: value})).encode()) == BAD_PAYLOAD
    assert without_counters(board.status()) == before


def test_the_documented_answers_to_the_edge_requests(board) -> None:
    assert board.error(CONFIGURE, b"") == BAD_PAYLOAD               # an empty JSON payload
    configured(board)
    before = without_counters(board.status())
    for cmd in (SAFE, STOP, EXIT, STATUS):                          # take no payload
        assert board.error(cmd, b"\x00") == BAD_LENGTH
    assert board.error(SET_CHANNEL, struct.pack("<BH", 12, 2048)) == BAD_PAYLOAD   # no channel 12
    assert board.error(SEQUENCE, struct.pack("<BHHI", HELD, 0, 1, 100) + u16(1000, 1000)) \
        == BAD_PAYLOAD                                              # a feed-forward bench
    assert board.ok(EVALUATE, struct.pack("<BHH", 0, 0, 1) + u16(1000, 1000)) == b""   # B = 0
    assert board.ok(EVALUATE, struct.pack("<BHH", 0, 1, 0) + u16(*[3000] * N_W)) == b""  # P = 0
    assert without_counters(board.status()) == before


def test_the_brief_hello_and_the_short_configure(board) -> None:
    full = json.loads(board.ok(HELLO, b"x"))
    brief = struct.unpack("<BBBBIB", board.ok(HELLO, b"brief"))
    assert brief == (2, *map(int, full["firmware"].split(".")), full["boot_id"], 0b10)
    assert json.loads(board.ok(CONFIGURE, json.dumps(SHORT_CONFIG).encode())) == [12, 3]
    short_status = without_counters(board.status())
    configured(board)                                  # the object form: the same board
    assert without_counters(board.status()) == short_status
    board.ok(SET_CODES, u16(*[3000] * N_W))
    assert struct.unpack("<BBBBIB", board.ok(HELLO, b"brief"))[5] == 0b01   # configured, not safe
    before = without_counters(board.status())
    for bad in (SHORT_CONFIG[:6],                                     # a required field missing
                SHORT_CONFIG + [None] * 5 + [[[11, 2048]], 0],        # more values than fields
                [SHORT_CONFIG[0], {"x": 1}] + SHORT_CONFIG[2:],      # weights not a list of ints
                SHORT_CONFIG[:7] + [LO + 0.5] + SHORT_CONFIG[8:]):   # min_code not an int
        assert board.error(CONFIGURE, json.dumps(bad).encode()) == BAD_PAYLOAD
        assert without_counters(board.status()) == before
    assert json.loads(board.ok(CONFIGURE, json.dumps(SHORT_CONFIG[:10] + [None, None]).encode())) \
        == [12, 3]                                     # null: the field's default
