"""The wire codec: round trips, corruption detection, resynchronisation, and the same bytes
from MicroPython as from CPython."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wphil.firmware import firmware_dir
from wphil.firmware import protocol as P

frames = st.tuples(st.integers(0, 255), st.sampled_from([0, P.F_REPLY, P.F_REPLY | P.F_ERROR]),
                   st.integers(0, 0xFFFF), st.binary(max_size=600))


@pytest.mark.slow
@given(frames, st.lists(st.integers(1, 50), max_size=20))
def test_any_payload_round_trips_however_the_bytes_are_split(frame, cuts) -> None:
    cmd, flags, seq, payload = frame
    data = P.encode(cmd, seq, payload, flags)
    decoder, out, pos = P.FrameDecoder(), [], 0
    for cut in cuts + [len(data)]:
        out += decoder.feed(data[pos:pos + cut])
        pos += cut
    assert out == [(cmd, flags, seq, payload)]


def test_largest_payload_round_trips_and_one_more_byte_is_refused() -> None:
    payload = bytes(range(256)) * (P.MAX_PAYLOAD // 256)
    assert P.FrameDecoder().feed(P.encode(P.PING, 9, payload)) == [(P.PING, 0, 9, payload)]
    try:
        P.encode(P.PING, 9, payload + b"x")
    except ValueError as exc:
        assert "MAX_PAYLOAD" in str(exc)
    else:
        raise AssertionError("an oversized payload was encoded")


@pytest.mark.slow
@settings(max_examples=300)
@given(frames, st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
def test_every_corrupted_frame_is_detected_and_the_next_one_still_decodes(frame, flips) -> None:
    cmd, flags, seq, payload = frame
    good = P.encode(cmd, seq, payload, flags)
    bad = bytearray(good)
    for bit in {f % (8 * len(good)) for f in flips}:
        bad[bit // 8] ^= 1 << (bit % 8)
    decoder = P.FrameDecoder()
    got = [f for f in decoder.feed(bytes(bad)) if f[0] != "crc"]
    assert got == []                       # a corrupted frame never comes out as a frame
    # the stream recovers: a good frame right after the bad one decodes (a corrupted
    # length can swallow it while the decoder waits for that many bytes; then it is
    # recovered from the bytes that follow)
    more = decoder.feed(good) + decoder.feed(good + bytes(P.MAX_PAYLOAD + 13))
    assert (cmd, flags, seq, payload) in more


@given(st.binary(max_size=2000), frames)
def test_garbage_before_a_frame_is_skipped(garbage, frame) -> None:
    cmd, flags, seq, payload = frame
    out = P.FrameDecoder().feed(garbage + P.encode(cmd, seq, payload, flags))
    assert out[-1] == (cmd, flags, seq, payload)


def test_encode_into_builds_the_same_frame_in_place() -> None:
    buf = bytearray(P.OVERHEAD + 10)
    buf[P.HEADER_SIZE:P.HEADER_SIZE + 3] = b"\x00\x03\x04"
    n = P.encode_into(buf, P.EVALUATE, 513, 3, P.F_REPLY)
    assert bytes(buf[:n]) == P.encode(P.EVALUATE, 513, b"\x00\x03\x04", P.F_REPLY)


def test_micropython_encodes_and_decodes_the_same_bytes_as_cpython() -> None:
    cases = [(P.HELLO, 1, b""), (P.EVALUATE, 65535, bytes(range(256))), (P.PING, 7, b"\x03\x03\x04")]
    script = (
        "import protocol as P, json, sys\n"
        f"cases = {[(c, s, list(p)) for c, s, p in cases]!r}\n"
        "out = []\n"
        "for c, s, p in cases:\n"
        "    f = P.encode(c, s, bytes(p))\n"
        "    d = P.FrameDecoder().feed(b'junk' + f)\n"
        "    out.append([list(f), d[0][0], d[0][2], list(d[0][3])])\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-m", "micropython_unix", "-c", script], cwd=firmware_dir(),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout, proc.stderr
    for (cmd, seq, payload), (frame, d_cmd, d_seq, d_payload) in zip(cases, json.loads(proc.stdout)):
        assert bytes(frame) == P.encode(cmd, seq, payload)
        assert (d_cmd, d_seq, bytes(d_payload)) == (cmd, seq, payload)
