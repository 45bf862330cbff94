"""The fuzzer's reading of the board's output (bench/fuzz_firmware.py, issue 23 item 4).

The cause of the "bytes outside any frame" a 1,000,000-frame run reported: a fuzzed TRAIN
runs on chip while the batch's marker PING is answered (PROTOCOL.md: PING is answered during
TRAIN), so the TRAIN reply follows the marker; the fuzzer stopped reading at the marker with
part of that reply in a per-batch decoder it then threw away, and the next batch's decoder
counted the tail as junk. The fuzzer now keeps one decoder for the run and settles at the end;
junk the board really sends must still fail it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wphil.drivers import load_bench, open_device
from wphil.firmware import firmware_dir
from wphil.firmware import protocol as P

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import fuzz_firmware as F  # noqa: E402


def found() -> dict:
    return {"replies": 0, "crashes": 0, "malformed": 0, "internal": 0, "internal_examples": []}


class Port:
    """Hands out the board's output in the given chunks; in_waiting is the next chunk's size."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def read(self, n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data: bytes) -> None:
        pass


class Board:
    class proc:                       # noqa: N801 - stands in for a Popen
        @staticmethod
        def poll() -> None:
            return None


class Dev:
    def __init__(self, chunks: list[bytes]) -> None:
        self.port, self.board = Port(chunks), Board()


MARK = P.encode(P.PING, F.MARKER_SEQ, F.MARKER, P.F_REPLY)
TRAIN_REPLY = P.encode(P.TRAIN, 7, json.dumps({"stop": "stopped", "epochs": 0}).encode(),
                       P.F_REPLY)


def test_a_reply_cut_at_the_marker_is_finished_in_the_next_batch() -> None:
    # batch 1 ends: marker reply, then the first half of the TRAIN reply in the same read;
    # batch 2: the rest of it, then the next marker
    half = len(TRAIN_REPLY) // 2
    dev, decoder, got = Dev([MARK + TRAIN_REPLY[:half], TRAIN_REPLY[half:] + MARK]), \
        P.FrameDecoder(), found()
    F.check_batch(dev, b"", decoder, got)
    F.check_batch(dev, b"", decoder, got)
    assert (got["malformed"], got["replies"], got["crashes"]) == (0, 3, 0)


@pytest.mark.parametrize("junk", [b"x", b"\xa5Z\x09", bytes(5)])
def test_bytes_outside_any_frame_still_count(junk: bytes) -> None:
    half = len(TRAIN_REPLY) // 2
    dev, decoder, got = Dev([MARK + TRAIN_REPLY[:half], TRAIN_REPLY[half:] + junk + MARK]), \
        P.FrameDecoder(), found()
    F.check_batch(dev, b"", decoder, got)
    F.check_batch(dev, b"", decoder, got)
    assert got["malformed"] >= 1


def test_a_frame_the_board_never_finishes_counts_at_the_end() -> None:
    status = P.encode(P.STATUS, F.MARKER_SEQ, json.dumps({"training": False}).encode(), P.F_REPLY)
    dev, decoder, got = Dev([MARK, status + TRAIN_REPLY[:9]]), P.FrameDecoder(), found()
    F.check_batch(dev, b"", decoder, got)
    F.settle(dev, decoder, got)
    assert (got["malformed"], got["crashes"]) == (9, 0)


class Recording(P.FrameDecoder):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list = []

    def feed(self, data: bytes) -> list:
        out = super().feed(data)
        self.frames += out
        return out


def test_the_firmware_answers_the_marker_before_a_running_trains_reply() -> None:
    # the real board (upy://): a TRAIN of a million epochs is still running when the marker
    # arrives, so the marker is answered first; STOP then ends it, its reply follows, and the
    # fuzzer's settle reads all of it (STOP reply, TRAIN reply, STATUS) with nothing left over
    bench = load_bench("xor-2-2-1")
    payloads = F.valid_payloads(bench)
    job = dict(json.loads(payloads[P.TRAIN][0]), epochs=10**6)
    blob = (P.encode(P.CONFIGURE, 1, payloads[P.CONFIGURE][0])
            + P.encode(P.TRAIN, 2, json.dumps(job).encode()))
    decoder, got = Recording(), found()
    with open_device("upy://?timeout=1&noise=0&drift=0", bench) as dev:
        dev.link.drain()
        F.check_batch(dev, blob, decoder, got)
        dev.port.write(P.encode(P.STOP, 3, b""))
        F.settle(dev, decoder, got)
    assert (got["malformed"], got["crashes"], got["internal"]) == (0, 0, 0)
    # the read that found the marker may also hold the run's progress EVENTs that followed
    # it, so the marker is looked up, not taken to be the last frame read
    replies = [(f[0], f[1]) for f in decoder.frames]
    marker = replies.index((P.PING, P.F_REPLY))
    train = replies.index((P.TRAIN, P.F_REPLY))
    assert marker < train
    assert json.loads(decoder.frames[train][3])["stop"] == "stopped"
    assert replies[-1] == (P.STATUS, P.F_REPLY) and not decoder.buf


def test_the_fuzzer_exits_1_when_the_board_sends_junk(tmp_path) -> None:
    # a planted defect: the firmware writes stray bytes before every PING reply
    firmware = tmp_path / "firmware"
    shutil.copytree(firmware_dir(), firmware)
    server = firmware / "server.py"
    text = server.read_text()
    ping = "    def ping(self, req, seq):\n        return bytes(req)\n"
    assert ping in text
    server.write_text(text.replace(ping, "    def ping(self, req, seq):\n"
                                         "        self.io.write(b'junk')\n"
                                         "        return bytes(req)\n"))
    proc = subprocess.run([sys.executable, str(BENCH / "fuzz_firmware.py"), "--frames", "800",
                           "--url", f"upy://?timeout=1&noise=0&drift=0&firmware={firmware}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert " 0 replies not well-formed" not in proc.stdout, proc.stdout
