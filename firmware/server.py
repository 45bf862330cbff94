# The wire-protocol server: reads frames from the USB serial line, runs commands on the
# rig, answers every request (errors included) with a frame. See PROTOCOL.md.
#
# Hot path per request: a 1-byte read to find SYNC, one read for the rest of the header,
# one for the body; the reply is built in place in a preallocated buffer, which doubles
# as the cache that answers a repeated sequence number without running it again.
import json
import struct
import sys
import time

import config_fields
import micropython
import onchip
import sequence
import version
from protocol import (
    CONFIGURE,
    E_HELD,
    E_HIDDEN,
    E_NO_BASE,
    ERR_BAD_CRC,
    ERR_BAD_LENGTH,
    ERR_BAD_PAYLOAD,
    ERR_BUSY,
    ERR_HARDWARE,
    ERR_INTERNAL,
    ERR_TRUNCATED,
    ERR_UNKNOWN_COMMAND,
    EVALUATE,
    EXIT,
    F_ERROR,
    F_REPLY,
    HEADER_SIZE,
    HELLO,
    HELLO_BRIEF,
    MAX_PAYLOAD,
    OVERHEAD,
    PERTURB,
    PING,
    PROTOCOL_VERSION,
    SAFE,
    SEQUENCE,
    SET_CHANNEL,
    SET_CODES,
    SIM_BOARD,
    STATUS,
    STOP,
    SYNC0,
    TRAIN,
    body_crc_ok,
    encode_into,
    parse_header,
)
from rig import ProtoError, Rig

MID_FRAME_MS = 500     # a frame's bytes must keep coming: a stall this long drops it
IDLE_POLL_MS = 50      # how often the idle loop checks for host silence
CTRL_C = 0x03
QUIET_MS = 50          # Ctrl-C only counts after this much line silence: a human, not noise


class Server:
    def __init__(self, board):
        self.board = board
        self.io = board.stream()
        self.rig = Rig(board)
        self.rx = bytearray(OVERHEAD + MAX_PAYLOAD)
        self.tx = bytearray(OVERHEAD + MAX_PAYLOAD)
        self.rxv = memoryview(self.rx)
        self.txv = memoryview(self.tx)
        self.err = bytearray(OVERHEAD + 256)   # error replies to frames that were not run
        self.pending = 0               # bytes of a rejected header kept for re-scanning
        self.boot_id = board.boot_id()
        self.cache_key = None          # (cmd, seq, crc) of the request whose reply is in tx
        self.tx_len = 0
        self.last_rx = self.prev_rx = time.ticks_ms()
        self.last_byte = time.ticks_add(self.last_rx, -QUIET_MS)
        self.timeout_ms = 0
        self.wdt = None
        self.running = True
        self.training = False
        self.stop_requested = False
        self.ctrl_c = 0
        self.digest = None
        self.stats = {"frames": 0, "errors": 0, "resyncs": 0, "repeats": 0, "silence_trips": 0}
        self.handlers = {
            HELLO: self.hello, CONFIGURE: self.configure, SET_CODES: self.set_codes,
            EVALUATE: self.evaluate, PERTURB: self.perturb, SET_CHANNEL: self.set_channel,
            SAFE: self.safe, PING: self.ping, STATUS: self.status, TRAIN: self.train,
            STOP: self.stop, EXIT: self.exit, SEQUENCE: self.sequence,
            SIM_BOARD: self.sim_board,
        }

    # -- loop ----------------------------------------------------------------------------
    def serve(self):
        """Serve until EXIT or Ctrl-C twice outside a frame; then back to the REPL."""
        micropython.kbd_intr(-1)
        try:
            while self.running:
                self.step(IDLE_POLL_MS)
        finally:
            micropython.kbd_intr(CTRL_C)
            self.io.close()
            try:
                self.rig.safe()
            except OSError:
                pass

    def step(self, timeout_ms):
        """Handle at most one frame; False if none came."""
        frame = self.read_frame(timeout_ms)
        if self.wdt:
            self.wdt.feed()
        if frame is None:
            self.check_silence()
            return False
        self.dispatch(frame[0], frame[1], frame[2], frame[3])
        return True

    def check_silence(self):
        if not self.rig.safe_state and self.host_silent():
            self.silence_trip()

    def host_silent(self):
        return self.timeout_ms and time.ticks_diff(time.ticks_ms(), self.last_rx) > self.timeout_ms

    def silence_trip(self):
        self.rig.safe()
        self.cache_key = None
        self.stats["silence_trips"] += 1

    # -- framing -------------------------------------------------------------------------
    def read_exact(self, start, end):
        """Read rx[start:end]; the position reached (< end: the bytes stopped coming)."""
        pos = start
        while pos < end:
            n = self.io.readinto(self.rxv[pos:end], MID_FRAME_MS)
            if not n:
                return pos
            pos += n
        return pos

    def read_frame(self, timeout_ms):
        """(cmd, flags, seq, length) of the next good frame in rx, or None."""
        have = self.pending
        self.pending = 0
        if not have:
            if not self.io.readinto(self.rxv[0:1], timeout_ms):
                return None
            now = time.ticks_ms()
            quiet = time.ticks_diff(now, self.last_byte) >= QUIET_MS
            self.last_byte = now
            if self.rx[0] != SYNC0:
                self.idle_byte(self.rx[0], quiet)
                return None
            have = 1
        self.ctrl_c = 0
        if self.read_exact(have, HEADER_SIZE) < HEADER_SIZE:
            return None                # no SEQ to answer to: the host's timeout retries
        head = parse_header(self.rx)
        if head is None:
            self.resync(HEADER_SIZE)
            return None
        cmd, flags, seq, length = head
        if length > MAX_PAYLOAD:
            self.reply_error(cmd, seq, ERR_BAD_LENGTH, "payload %d > max %d" % (length, MAX_PAYLOAD))
            return None
        got = self.read_exact(HEADER_SIZE, HEADER_SIZE + length + 4)
        if got < HEADER_SIZE + length + 4:
            self.reply_error(cmd, seq, ERR_TRUNCATED, "truncated frame: %d of %d bytes, then %d ms"
                             " of silence" % (got, HEADER_SIZE + length + 4, MID_FRAME_MS))
            return None
        if not body_crc_ok(self.rx, self.rxv[HEADER_SIZE:], length):
            self.reply_error(cmd, seq, ERR_BAD_CRC, "bad CRC, frame dropped")
            return None
        self.prev_rx = self.last_rx            # STATUS reports the silence before itself
        self.last_rx = self.last_byte = time.ticks_ms()
        self.stats["frames"] += 1
        return cmd, flags, seq, length

    def resync(self, n):
        """A bad header: keep its bytes from the next SYNC0 on, to scan them again."""
        self.stats["resyncs"] += 1
        rx = self.rx
        for i in range(1, n):
            if rx[i] == SYNC0:
                rx[0:n - i] = rx[i:n]
                self.pending = n - i
                return

    def idle_byte(self, b, quiet):
        """A byte outside any frame: Ctrl-C twice in a row, after a quiet line, means back
        to the REPL (line noise or garbage mid-stream never comes after silence)."""
        if b == CTRL_C and (self.ctrl_c or quiet):
            self.ctrl_c += 1
            if self.ctrl_c >= 2:
                self.running = False
        else:
            self.ctrl_c = 0

    # -- replies -------------------------------------------------------------------------
    def dispatch(self, cmd, flags, seq, length):
        # HELLO, PING and STATUS change nothing: they are run every time and never evict
        # the cached reply, so a host can probe the board and still get a lost reply back
        cached = cmd not in (HELLO, PING, STATUS)
        key = (cmd, seq, bytes(self.rxv[HEADER_SIZE + length:HEADER_SIZE + length + 4]))
        if cached and key == self.cache_key:
            self.stats["repeats"] += 1
            self.io.write(self.txv[:self.tx_len])
            return
        if self.training and cmd not in (STOP, PING, STATUS):
            self.reply_error(cmd, seq, ERR_BUSY, "training on chip: send STOP first")
            return
        if not cached:
            self.dispatch_uncached(cmd, seq, length)
            return
        try:
            handler = self.handlers.get(cmd)
            if handler is None:
                raise ProtoError(ERR_UNKNOWN_COMMAND, "unknown command 0x%02x" % cmd)
            n = handler(self.rxv[HEADER_SIZE:HEADER_SIZE + length], seq)
            self.tx_len = encode_into(self.tx, cmd, seq, n, F_REPLY)
        except ProtoError as exc:
            self.tx_len = self.error_into(self.tx, cmd, seq, exc.code, exc.message)
        except OSError as exc:
            try:
                self.rig.safe()
            except OSError:
                pass
            self.tx_len = self.error_into(self.tx, cmd, seq, ERR_HARDWARE,
                                          "I2C error %s; DACs set safe" % exc)
        except Exception as exc:
            self.tx_len = self.error_into(self.tx, cmd, seq, ERR_INTERNAL,
                                          "%s: %s" % (type(exc).__name__, exc))
        self.cache_key = key
        self.io.write(self.txv[:self.tx_len])

    def dispatch_uncached(self, cmd, seq, length):
        """Run a side-effect-free command; its reply never touches tx (the cache)."""
        try:
            payload = bytes(self.handlers[cmd](self.rxv[HEADER_SIZE:HEADER_SIZE + length], seq))
            out = bytearray(OVERHEAD + len(payload))
            out[HEADER_SIZE:HEADER_SIZE + len(payload)] = payload
            n = encode_into(out, cmd, seq, len(payload), F_REPLY)
        except ProtoError as exc:
            out = self.err
            n = self.error_into(out, cmd, seq, exc.code, exc.message)
        except Exception as exc:
            code = ERR_HARDWARE if isinstance(exc, OSError) else ERR_INTERNAL
            out = self.err
            n = self.error_into(out, cmd, seq, code, "%s: %s" % (type(exc).__name__, exc))
        self.io.write(memoryview(out)[:n])

    def error_into(self, buf, cmd, seq, code, message):
        """Build an error reply (code + message) in buf; return the frame length."""
        self.stats["errors"] += 1
        msg = message.encode()[:200]
        buf[HEADER_SIZE] = code
        buf[HEADER_SIZE + 1:HEADER_SIZE + 1 + len(msg)] = msg
        return encode_into(buf, cmd, seq, 1 + len(msg), F_REPLY | F_ERROR)

    def reply_error(self, cmd, seq, code, message):
        """An error about a frame that was not run (bad CRC, bad length, busy): built in a
        buffer of its own, leaving the cached reply alone for the retry that follows."""
        n = self.error_into(self.err, cmd, seq, code, message)
        self.io.write(memoryview(self.err)[:n])

    def put_json(self, obj):
        data = json.dumps(obj).encode()
        if len(data) > MAX_PAYLOAD:
            raise ProtoError(ERR_INTERNAL, "reply too large")
        self.tx[HEADER_SIZE:HEADER_SIZE + len(data)] = data
        return len(data)

    # -- commands ------------------------------------------------------------------------
    # HELLO, PING and STATUS return their payload (bytes): they must not touch tx, the cache
    def hello(self, req, seq):
        if bytes(req) == HELLO_BRIEF:     # 9 bytes: what a reconnect needs (PROTOCOL.md)
            major, minor, patch = [int(x) for x in version.FIRMWARE_VERSION.split(".")]
            return struct.pack("<BBBBIB", PROTOCOL_VERSION, major, minor, patch, self.boot_id,
                               (1 if self.rig.configured else 0) | (2 if self.rig.safe_state else 0))
        if self.digest is None:
            self.digest = version.files_digest(self.board.FIRMWARE_ROOT)
        hello = {
            "protocol": PROTOCOL_VERSION, "firmware": version.FIRMWARE_VERSION,
            "files": self.digest, "boot_id": self.boot_id, "board": self.board.NAME,
            "platform": sys.platform, "mpy": getattr(sys.implementation, "_mpy", None),
            "dac_addresses": self.rig.scan(),
            "configured": self.rig.configured, "safe": self.rig.safe_state,
            "max_payload": MAX_PAYLOAD,
        }
        uid = self.board.unique_id()
        if uid:                  # a simulated board has one only when the host gave it one
            hello["unique_id"] = uid
        return json.dumps(hello).encode()

    def configure(self, req, seq):
        short = bytes(req[:1]) == b"["
        cfg = json_value(req, "configure", list if short else dict)
        try:
            cfg = config_fields.checked(config_fields.from_short(cfg) if short else cfg)
        except config_fields.BadField as exc:
            raise ProtoError(ERR_BAD_PAYLOAD, "configure: %s" % exc)
        self.rig.configure(cfg)            # checks the rest, then takes it (or changes nothing)
        self.timeout_ms = cfg["host_timeout_ms"]
        if cfg["watchdog_ms"] and self.wdt is None:
            self.wdt = self.board.watchdog(cfg["watchdog_ms"])
        if short:
            return self.put_json([len(self.rig.dacs.codes), self.rig.adc.channels])
        return self.put_json({"dac_channels": len(self.rig.dacs.codes),
                              "adc_channels": self.rig.adc.channels})

    def codes_from(self, req, offset, n, what):
        codes = struct.unpack_from("<%dH" % n, req, offset)
        check = self.rig.check
        for c in codes:
            check(c, what)
        return codes

    def set_codes(self, req, seq):
        rig = self.rig
        rig.need_config()
        _length(req, 2 * rig.n_w, "SET_CODES")
        codes = self.codes_from(req, 0, rig.n_w, "weight")
        rig.load_weights(codes)
        rig.dacs.flush()
        rig.held = list(codes)
        return 0

    def batch_header(self, req, name):
        rig = self.rig
        rig.need_config()
        if len(req) < 5:
            raise ProtoError(ERR_BAD_LENGTH, name + ": payload shorter than its 5-byte header")
        flags, count, patterns = struct.unpack_from("<BHH", req, 0)
        readouts = rig.readouts if flags & E_HIDDEN else rig.outputs
        return flags, count, patterns, readouts

    def evaluate(self, req, seq):
        rig = self.rig
        flags, count, patterns, readouts = self.batch_header(req, "EVALUATE")
        held = flags & E_HELD
        if held and count != 1:
            raise ProtoError(ERR_BAD_PAYLOAD, "EVALUATE: B must be 1 with HELD, not %d" % count)
        n_codes = 0 if held else count * rig.n_w
        _length(req, 5 + 2 * (n_codes + patterns * rig.n_in), "EVALUATE")
        _fits(count * patterns * len(readouts))
        codes = rig.held if held else self.codes_from(req, 5, n_codes, "weight")
        inputs = self.codes_from(req, 5 + 2 * n_codes, patterns * rig.n_in, "input")
        if not count or not patterns:
            return 0                   # B = 0 or P = 0: nothing to measure, nothing written
        pos = HEADER_SIZE
        for b in range(1 if held else count):
            rig.load_weights(codes[b * rig.n_w:(b + 1) * rig.n_w] if not held else codes)
            for p in range(patterns):
                pos = rig.forward(inputs, p, self.tx, pos, readouts)
        return pos - HEADER_SIZE

    def perturb(self, req, seq):
        rig = self.rig
        flags, count, patterns, readouts = self.batch_header(req, "PERTURB")
        pos = 5
        if flags & E_HELD:
            base = list(rig.held)
        else:
            _length(req, pos + 2 * rig.n_w, "PERTURB", at_least=True)
            base = list(self.codes_from(req, pos, rig.n_w, "base"))
            pos += 2 * rig.n_w
        perts = []
        for _ in range(count):
            if pos >= len(req):
                raise ProtoError(ERR_BAD_LENGTH, "PERTURB: payload ends inside perturbation %d"
                                 % len(perts))
            m = req[pos]
            _length(req, pos + 1 + 3 * m, "PERTURB", at_least=True)
            pairs = []
            for i in range(m):
                k, delta = struct.unpack_from("<Bh", req, pos + 1 + 3 * i)
                if k >= rig.n_w:
                    raise ProtoError(ERR_BAD_PAYLOAD, "PERTURB: weight %d of %d" % (k, rig.n_w))
                for seen, _ in pairs:
                    if seen == k:
                        raise ProtoError(ERR_BAD_PAYLOAD, "PERTURB: weight %d twice in "
                                         "perturbation %d" % (k, len(perts)))
                rig.check(base[k] + delta, "perturbed weight %d" % k)
                pairs.append((k, base[k] + delta))
            perts.append(pairs)
            pos += 1 + 3 * m
        _length(req, pos + 2 * patterns * rig.n_in, "PERTURB")
        inputs = self.codes_from(req, pos, patterns * rig.n_in, "input")
        with_base = not flags & E_NO_BASE
        _fits((count + with_base) * patterns * len(readouts))
        if not patterns or not (perts or with_base):
            return 0                   # nothing to measure, nothing written
        rig.load_weights(base)
        out = HEADER_SIZE
        if with_base:
            for p in range(patterns):
                out = rig.forward(inputs, p, self.tx, out, readouts)
        ch, dacs = rig.weight_ch, rig.dacs
        for pairs in perts:
            for k, code in pairs:
                dacs.set(ch[k], code)
            for p in range(patterns):
                out = rig.forward(inputs, p, self.tx, out, readouts)
            for k, _ in pairs:
                dacs.set(ch[k], base[k])
        return out - HEADER_SIZE

    def sequence(self, req, seq):
        self.rig.need_config()
        if not self.rig.feedback:
            raise ProtoError(ERR_BAD_PAYLOAD, "SEQUENCE: the configured bench is feed-forward "
                             "(no feedback weights): use EVALUATE")
        return sequence.replay(self, req)

    def set_channel(self, req, seq):
        self.rig.need_config()
        _length(req, 3, "SET_CHANNEL")
        channel, code = struct.unpack_from("<BH", req, 0)
        self.rig.set_channel(channel, code)
        return 0

    def safe(self, req, seq):
        _length(req, 0, "SAFE")
        self.rig.safe()
        return 0

    def ping(self, req, seq):
        return bytes(req)

    def status(self, req, seq):
        _length(req, 0, "STATUS")
        rig = self.rig
        info = {"configured": rig.configured, "safe": rig.safe_state, "training": self.training,
                "boot_id": self.boot_id, "stats": self.stats,
                "silence_ms": time.ticks_diff(self.last_rx, self.prev_rx)}
        if rig.configured:
            info["held"] = list(rig.held)
            info["dac_codes"] = rig.dacs.read_back()
        return json.dumps(info).encode()

    def train(self, req, seq):
        self.rig.need_config()
        return onchip.train(self, req, seq)

    def stop(self, req, seq):
        _length(req, 0, "STOP")
        self.stop_requested = self.training
        return self.put_json({"training": self.training})

    def sim_board(self, req, seq):
        # A simulated board (firmware/sim) becomes the board instance the host describes; a
        # real board has no `simulate` and refuses. A new instance is a new board: the rig
        # starts unconfigured, as after power-on (the host then sends CONFIGURE).
        simulate = getattr(self.board, "simulate", None)
        if simulate is None:
            raise ProtoError(ERR_UNKNOWN_COMMAND, "SIM_BOARD: board %s is not simulated"
                             % self.board.NAME)
        cfg = json_object(req, "SIM_BOARD")
        try:
            changed = simulate(cfg)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProtoError(ERR_BAD_PAYLOAD, "SIM_BOARD: %s %s" % (type(exc).__name__, exc))
        if changed:
            self.rig = Rig(self.board)
        return self.put_json({"changed": changed})

    def exit(self, req, seq):
        _length(req, 0, "EXIT")
        self.running = False
        return 0


def _length(req, n, name, at_least=False):
    if len(req) < n or (not at_least and len(req) != n):
        raise ProtoError(ERR_BAD_LENGTH, "%s: payload is %d bytes, expected %s%d"
                         % (name, len(req), "at least " if at_least else "", n))


def json_object(req, name):
    """A JSON object payload; BAD_PAYLOAD for anything else (empty, not JSON, not an object)."""
    return json_value(req, name, dict)


def json_value(req, name, kind):
    """A JSON payload of `kind` (dict or list); BAD_PAYLOAD for anything else."""
    try:
        obj = json.loads(bytes(req))
    except (ValueError, UnicodeError) as exc:
        raise ProtoError(ERR_BAD_PAYLOAD, "%s: not JSON (%s)" % (name, exc))
    if not isinstance(obj, kind):
        raise ProtoError(ERR_BAD_PAYLOAD, "%s: the payload must be a JSON %s"
                         % (name, "object" if kind is dict else "list"))
    return obj


def _fits(values):
    if 2 * values > MAX_PAYLOAD:
        raise ProtoError(ERR_BAD_LENGTH, "reply of %d readings exceeds %d bytes: split the batch"
                         % (values, MAX_PAYLOAD))


def run(board):
    Server(board).serve()

