"""Fuzz the firmware (under the MicroPython unix port, upy://) with mutated and random frames.

    python bench/fuzz_firmware.py [--frames 1000000] [--seed 0] [--bench xor-2-2-1]
                                  [--url upy://?timeout=1&noise=0&drift=0]
                                  [--json bench/results/fuzz_firmware.json] [--quick]

Frames are built from valid requests of every command (HELLO full and brief, CONFIGURE
object and short form, SET_CODES,
EVALUATE, PERTURB, SET_CHANNEL, SAFE, PING, TRAIN, STOP, EXIT with a payload, STATUS,
SEQUENCE), then mutated: bits flipped, bytes inserted or deleted, truncated, extended, a
header that lies about its length, a payload replaced or cut with the CRC made right again
(so it reaches the command handlers), or plain random bytes. Left out: the documented ways
out and resets (a well-formed EXIT, Ctrl-C twice, the simulated board's reset bytes).
After each batch a PING marks the end; every byte that came back must be a well-formed
reply frame (valid CRC, REPLY flag, an error code from the table with a UTF-8 message).
One decoder reads the board's output for the whole run: a fuzzed TRAIN may still be training
when the marker is answered (PROTOCOL.md answers PING during TRAIN), so its EVENTs and reply
can follow the marker and a read can end mid-frame; after the last batch, STATUS is polled
until no training runs, so every byte the board sent is read and checked.
Before and after the fuzzing, a fixed script (CONFIGURE, then one request of each kind) is
sent; its replies must be byte-identical, so the fuzzing left nothing behind.

Exit status 1 on any crash (the board process died or rebooted), malformed reply, INTERNAL
error (a firmware bug by PROTOCOL.md's definition) or script reply that changed; else 0.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import time
from pathlib import Path

from results_stamp import stamp
from script_args import add_quick

from wphil.drivers import load_bench, open_device
from wphil.drivers.compact import short_config
from wphil.drivers.serial_device import firmware_config
from wphil.firmware import protocol as P

BATCH = 400
MARKER_SEQ = 0xBEEF
LEAVE_OUT = (b"\x03\x03", P.SIM_RESET)
COMMANDS = list(range(256))


def valid_payloads(bench) -> dict[int, list[bytes]]:
    n_w, n_in = bench.n_weights, bench.n_inputs
    codes = struct.pack(f"<{n_w}H", *[2048] * n_w)
    inputs = struct.pack(f"<{2 * n_in}H", *[1000] * (2 * n_in))
    config = dict(firmware_config(bench), host_timeout_ms=0)
    job = {"inputs": [1000] * (2 * n_in), "labels": [0, 1], "target_codes": [1000, 3000],
           "lr": [0.01] * n_w, "pert": [10] * n_w, "codes": [2048] * n_w, "epochs": 1}
    perts = b"\x01\x00\x05\x00" + b"\x02\x01\x05\x00\x02\xfb\xff"
    return {
        P.SET_CODES: [codes],
        P.EVALUATE: [struct.pack("<BHH", 0, 1, 2) + codes + inputs,
                     struct.pack("<BHH", P.E_HELD | P.E_HIDDEN, 1, 2) + inputs],
        P.PERTURB: [struct.pack("<BHH", 0, 2, 2) + codes + perts + inputs],
        P.SEQUENCE: [struct.pack("<BHHI", 0, 2, 2, 100) + codes + perts + inputs,
                     struct.pack("<BHHI", P.E_HELD | P.E_CONTINUE | P.E_NO_BASE, 1, 2, 50)
                     + b"\x00" + inputs],
        P.SET_CHANNEL: [struct.pack("<BH", 3, 2000)],
        P.CONFIGURE: [json.dumps(config).encode(), short_config(config)],
        P.TRAIN: [json.dumps(job).encode()],
        P.STATUS: [b""], P.SAFE: [b""], P.PING: [b"ping"], P.HELLO: [b"x", P.HELLO_BRIEF],
        P.STOP: [b""],
        P.EXIT: [b"x"],
    }


def script(bench) -> list[bytes]:
    """The fixed requests whose replies must not change: configure, then one of each kind."""
    valid = valid_payloads(bench)
    order = [P.CONFIGURE, P.SET_CODES, P.EVALUATE, P.PERTURB, P.SEQUENCE, P.SET_CHANNEL,
             P.PING, P.STOP, P.EXIT, P.SAFE]
    frames = [P.encode(cmd, 0xF000 + i, valid[cmd][0]) for i, cmd in enumerate(order)]
    return frames + [P.encode(P.EVALUATE, 0xF100, valid[P.EVALUATE][1]),
                     P.encode(P.CONFIGURE, 0xF101, valid[P.CONFIGURE][1]),
                     P.encode(P.HELLO, 0xF102, P.HELLO_BRIEF)]


def mutate(rng: random.Random, valid: dict[int, list[bytes]]) -> bytes:
    cmd = rng.choice(list(valid)) if rng.random() < 0.8 else rng.choice(COMMANDS)
    payload = bytearray(rng.choice(valid.get(cmd, [rng.randbytes(rng.randrange(64))])))
    if cmd == P.EXIT and not payload:
        payload = bytearray(b"\x00")            # a well-formed EXIT would end the server
    how = rng.randrange(9)
    if how == 0:                               # payload bytes changed, CRC made right
        for _ in range(rng.randrange(1, 4)):
            if payload:
                payload[rng.randrange(len(payload))] = rng.randrange(256)
    elif how == 1:                             # payload cut or grown, CRC made right
        payload = payload[:rng.randrange(len(payload) + 1)] + rng.randbytes(rng.randrange(3))
        if cmd == P.EXIT and not payload:
            payload = bytearray(b"\x00")
    frame = bytearray(P.encode(cmd, rng.randrange(0x10000), bytes(payload)))
    if how == 2:
        for _ in range(rng.randrange(1, 4)):
            bit = rng.randrange(8 * len(frame))
            frame[bit // 8] ^= 1 << (bit % 8)
    elif how == 3:
        frame = frame[:rng.randrange(1, len(frame))]
    elif how == 4:
        frame += rng.randbytes(rng.randrange(1, 20))
    elif how == 5:                             # a header that lies about the payload length
        frame[6:8] = rng.randrange(0x10000).to_bytes(2, "little")
        frame[8] = P.header_check(*struct.unpack_from("<BBHH", frame, 2))
    elif how == 6:
        i = rng.randrange(len(frame))
        frame = frame[:i] + frame[i + 1:] if rng.random() < 0.5 else \
            frame[:i] + bytes((rng.randrange(256),)) + frame[i:]
    elif how == 7:
        frame = bytearray(rng.randbytes(rng.randrange(1, 80)))
    return bytes(frame)


def clean(blob: bytes) -> bytes:
    for seq in LEAVE_OUT:
        while seq in blob:
            blob = blob.replace(seq, seq[:1])
    return blob


MARKER = b"end of batch"


def check_batch(dev, blob: bytes, decoder: P.FrameDecoder, found: dict) -> None:
    """Send a batch and a PING marker; check every frame that came back until its reply.

    One decoder reads the board's output for the whole run: a fuzzed TRAIN that starts
    on-chip training answers the marker PING while it runs (PROTOCOL.md), so its EVENTs and
    reply may follow the marker, and the last read may end mid-frame. Only the board's
    output goes into the decoder, so every byte it skips is junk the board sent."""
    dev.port.write(blob + bytes(P.MAX_PAYLOAD + P.OVERHEAD)   # zeros end any frame
                   + P.encode(P.PING, MARKER_SEQ, MARKER))
    read_until(dev, decoder, found, lambda f: f[:3] == (P.PING, P.F_REPLY, MARKER_SEQ)
               and f[3] == MARKER)


def read_until(dev, decoder: P.FrameDecoder, found: dict, last) -> tuple | None:
    """Read and check frames until last(frame) holds (that frame is returned); a board
    that goes silent for 60 s or dies is a crash (None)."""
    skipped, deadline = decoder.skipped, time.monotonic() + 60
    end = None
    while end is None:
        if time.monotonic() > deadline or dev.board.proc.poll() is not None:
            found["crashes"] += 1
            break
        for f in decoder.feed(dev.port.read(dev.port.in_waiting or 1)):
            found["replies"] += 1
            if not well_formed(f):
                found["malformed"] += 1
            elif f[1] & P.F_ERROR and f[3][:1] == bytes((P.ERR_INTERNAL,)):
                found["internal"] += 1
                found["internal_examples"] = (found["internal_examples"]
                                              + [f[3][1:].decode()])[:5]
            if end is None and f[0] != "crc" and last(f):
                end = f
    found["malformed"] += decoder.skipped - skipped
    return end


def settle(dev, decoder: P.FrameDecoder, found: dict) -> None:
    """Wait out on-chip training a fuzzed TRAIN started: STATUS until it says not training.
    The TRAIN reply goes out before that STATUS reply, so all of the run's output is read
    (and checked); then no partial frame may be left over."""
    while not found["crashes"]:
        dev.port.write(P.encode(P.STATUS, MARKER_SEQ, b""))
        f = read_until(dev, decoder, found, lambda f: f[:3] == (P.STATUS, P.F_REPLY, MARKER_SEQ))
        if f is not None and not json.loads(f[3])["training"]:
            break
        time.sleep(0.05)
    found["malformed"] += len(decoder.buf)              # a frame the board never finished
    decoder.buf = bytearray()


def well_formed(f: tuple) -> bool:
    if f[0] == "crc" or not f[1] & P.F_REPLY:
        return False
    if f[1] & P.F_ERROR:
        try:
            return f[3][0] in P.ERROR_NAMES and bool(f[3][1:].decode())
        except (IndexError, UnicodeDecodeError):
            return False
    return True


def run_script(dev, frames: list[bytes]) -> list[bytes]:
    """The reply frames (as bytes) to each script frame, sent one at a time."""
    dev.link.drain()
    replies = []
    for frame in frames:
        seq = struct.unpack_from("<H", frame, 4)[0]
        dev.port.write(frame)
        decoder, deadline, got = P.FrameDecoder(), time.monotonic() + 10, None
        while got is None and time.monotonic() < deadline:
            for f in decoder.feed(dev.port.read(dev.port.in_waiting or 1)):
                if f[0] != "crc" and f[2] == seq and f[1] & P.F_REPLY and not f[1] & P.F_EVENT:
                    got = P.encode(f[0], f[2], f[3], f[1])
        replies.append(got or b"(no reply)")
    return replies


def fuzz(args: argparse.Namespace) -> dict:
    rng, bench = random.Random(args.seed), load_bench(args.bench)
    valid, fixed = valid_payloads(bench), script(bench)
    found = {"frames": 0, "bytes": 0, "replies": 0, "crashes": 0, "malformed": 0,
             "internal": 0, "internal_examples": [], "script_changed": 0}
    start = time.perf_counter()
    with open_device(args.url, bench) as dev:
        boot = dev.hello["boot_id"]
        before = run_script(dev, fixed)
        decoder = P.FrameDecoder()
        while found["frames"] < args.frames and not found["crashes"]:
            blob = clean(b"".join(mutate(rng, valid) for _ in range(BATCH)))
            found["frames"] += BATCH
            found["bytes"] += len(blob)
            check_batch(dev, blob, decoder, found)
        settle(dev, decoder, found)
        if not found["crashes"]:
            after = run_script(dev, fixed)
            found["script_changed"] = sum(a != b for a, b in zip(before, after))
            if dev.handshake()["boot_id"] != boot:
                found["crashes"] += 1                      # it restarted: a crash in disguise
    found["seconds"] = round(time.perf_counter() - start, 1)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", default="xor-2-2-1", help="a feed-forward bench")
    parser.add_argument("--url", default="upy://?timeout=1&noise=0&drift=0",
                        help="a upy:// URL (firmware=PATH); noise-free, so replies repeat exactly")
    parser.add_argument("--json")
    add_quick(parser)
    args = parser.parse_args()
    if args.quick:                     # two batches: a smoke run of every template
        args.frames = 2 * BATCH
    if load_bench(args.bench).is_recurrent:
        # a recurrent circuit remembers (EVALUATE depends on its capacitors) and SEQUENCE
        # replies carry measured timing, so the fixed script's replies cannot repeat exactly
        parser.error(f"--bench {args.bench}: a recurrent bench; the fuzzer needs a feed-forward one")
    found = fuzz(args)
    print(f"{found['frames']} frames ({found['bytes']} bytes) in {found['seconds']} s: "
          f"{found['replies']} replies, {found['crashes']} crashes, {found['malformed']} "
          f"replies not well-formed, {found['internal']} INTERNAL errors, "
          f"{found['script_changed']} script replies changed")
    for example in found["internal_examples"]:
        print("  INTERNAL:", example)
    if args.json:
        Path(args.json).write_text(json.dumps({**stamp(), "seed": args.seed, **found}, indent=2))
    return 1 if found["crashes"] or found["malformed"] or found["internal"] \
        or found["script_changed"] else 0


if __name__ == "__main__":
    sys.exit(main())
