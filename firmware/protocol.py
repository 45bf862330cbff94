# The wphil wire protocol: framing, commands, error codes. Imported by the firmware
# (MicroPython) and by the host (CPython, as `firmware.protocol`); see PROTOCOL.md.
#
# Frame: SYNC(2) CMD(1) FLAGS(1) SEQ(2, LE) LEN(2, LE) HCHK(1) PAYLOAD(LEN) CRC(4, LE)
#   HCHK = crc32(CMD..LEN) & 0xFF lets a receiver reject a garbage header before it
#   waits for LEN bytes; CRC = crc32(CMD..PAYLOAD) detects corruption of the rest.
import binascii
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

PROTOCOL_VERSION = const(2)
SYNC0 = const(0xA5)
SYNC1 = const(0x5A)
SYNC = b"\xa5\x5a"
HEADER_SIZE = const(9)
TRAILER_SIZE = const(4)
OVERHEAD = const(13)
MAX_PAYLOAD = const(8192)

# HELLO with exactly this payload gets the brief binary reply (PROTOCOL.md):
# u8 protocol, u8 u8 u8 firmware version, u32 boot id, u8 flags (bit 0 configured, 1 safe)
HELLO_BRIEF = b"brief"
HELLO_BRIEF_FORMAT = "<BBBBIB"

# CONFIGURE's short form (PROTOCOL.md): a JSON list of the fields' values in this order,
# `dac` and `adc` as lists in theirs; trailing optional fields may be left out
CONFIG_ORDER = ("layers", "weights", "inputs", "outputs", "hidden", "dac", "adc", "min_code",
                "max_code", "safe_code", "settle_us", "host_timeout_ms", "watchdog_ms",
                "feedback", "reset_pin", "reset_us", "fixed")
DAC_ORDER = ("kind", "chips", "bits", "vref", "i2c_id", "sda", "scl", "i2c_hz", "ldac_gpio")
ADC_ORDER = ("kind", "channels", "bits", "vref", "oversample")

# FLAGS
F_REPLY = const(0x01)
F_ERROR = const(0x02)
F_EVENT = const(0x04)   # unsolicited frame (on-chip training progress), carries the request's SEQ

# commands (a reply carries the request's CMD and SEQ)
HELLO = const(0x01)
CONFIGURE = const(0x02)
SET_CODES = const(0x03)
EVALUATE = const(0x04)
PERTURB = const(0x05)
SET_CHANNEL = const(0x06)
SAFE = const(0x07)
PING = const(0x08)
TRAIN = const(0x09)
STOP = const(0x0A)
EXIT = const(0x0B)
STATUS = const(0x0C)
SEQUENCE = const(0x0D)
SIM_BOARD = const(0x0E)  # simulated boards only (firmware/sim): which board instance to be

COMMAND_NAMES = {
    HELLO: "HELLO", CONFIGURE: "CONFIGURE", SET_CODES: "SET_CODES", EVALUATE: "EVALUATE",
    PERTURB: "PERTURB", SET_CHANNEL: "SET_CHANNEL", SAFE: "SAFE", PING: "PING",
    TRAIN: "TRAIN", STOP: "STOP", EXIT: "EXIT", STATUS: "STATUS", SEQUENCE: "SEQUENCE",
    SIM_BOARD: "SIM_BOARD",
}

# EVALUATE / PERTURB request flags (first payload byte)
E_HIDDEN = const(0x01)     # also read the hidden units
E_HELD = const(0x02)       # use the held codes as the (base) vector; no codes in the request
E_NO_BASE = const(0x04)    # PERTURB: do not evaluate the base vector (rows are the perturbations)
E_CONTINUE = const(0x08)   # SEQUENCE: go on from the circuit's state, no capacitor reset
# the longest one SEQUENCE request may pace (rows x (reset_us + steps x step_us)): the board
# answers nothing else meanwhile, so a longer one is refused up front (split the rows)
MAX_SEQUENCE_US = const(10000000)
SEQUENCE_HEADER = const(10)  # SEQUENCE reply: u16 overruns, u32 max lateness, u32 paced time (us)

# error codes (error reply payload: CODE(1) + UTF-8 message)
ERR_UNKNOWN_COMMAND = const(1)
ERR_BAD_LENGTH = const(2)
ERR_BAD_CRC = const(3)
ERR_RANGE = const(4)
ERR_NOT_CONFIGURED = const(5)
ERR_BAD_PAYLOAD = const(6)
ERR_BUSY = const(7)
ERR_HARDWARE = const(8)
ERR_INTERNAL = const(9)
ERR_TRUNCATED = const(10)   # the frame's bytes stopped coming: header known, body not

# Out-of-band bytes the *simulated* board (firmware/sim) treats as an MCU reset; the host's
# fault injector sends them. Never sent to a real board; not a frame.
SIM_RESET = b"\x00\x00WPHIL-SIM-MCU-RESET\x00\x00"

ERROR_NAMES = {
    ERR_UNKNOWN_COMMAND: "unknown command", ERR_BAD_LENGTH: "bad length", ERR_BAD_CRC: "bad CRC",
    ERR_RANGE: "out of range", ERR_NOT_CONFIGURED: "not configured",
    ERR_BAD_PAYLOAD: "bad payload", ERR_BUSY: "busy", ERR_HARDWARE: "hardware fault",
    ERR_INTERNAL: "internal error", ERR_TRUNCATED: "truncated frame",
}

_HEADER = "<BBHH"   # CMD FLAGS SEQ LEN (after SYNC)


def header_check(cmd, flags, seq, length):
    return binascii.crc32(struct.pack(_HEADER, cmd, flags, seq, length)) & 0xFF


def encode(cmd, seq, payload=b"", flags=0):
    """One complete frame as bytes."""
    length = len(payload)
    if length > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes exceeds MAX_PAYLOAD %d" % (length, MAX_PAYLOAD))
    fields = struct.pack(_HEADER, cmd, flags, seq & 0xFFFF, length)
    hchk = binascii.crc32(fields) & 0xFF
    crc = binascii.crc32(payload, binascii.crc32(fields))
    return SYNC + fields + bytes((hchk,)) + payload + struct.pack("<I", crc & 0xFFFFFFFF)


def encode_into(buf, cmd, seq, payload_len, flags=0):
    """Frame a payload already placed at buf[HEADER_SIZE:]; return the frame length.

    For the firmware: replies are built in one preallocated buffer, no copies.
    """
    struct.pack_into("<BBBBHH", buf, 0, SYNC0, SYNC1, cmd, flags, seq & 0xFFFF, payload_len)
    fields = memoryview(buf)[2:8]
    buf[8] = binascii.crc32(fields) & 0xFF
    end = HEADER_SIZE + payload_len
    crc = binascii.crc32(memoryview(buf)[HEADER_SIZE:end], binascii.crc32(fields))
    struct.pack_into("<I", buf, end, crc & 0xFFFFFFFF)
    return end + TRAILER_SIZE


def parse_header(header):
    """(cmd, flags, seq, length) of a 9-byte header, or None if it is not a valid header."""
    if header[0] != SYNC0 or header[1] != SYNC1:
        return None
    cmd, flags, seq, length = struct.unpack_from(_HEADER, header, 2)
    if header[8] != binascii.crc32(memoryview(header)[2:8]) & 0xFF:
        return None
    return cmd, flags, seq, length


def body_crc_ok(header, body, length):
    """True if the CRC trailer at body[length:length+4] matches header fields + payload."""
    crc = binascii.crc32(memoryview(body)[:length], binascii.crc32(memoryview(header)[2:8]))
    return struct.unpack_from("<I", body, length)[0] == crc & 0xFFFFFFFF


def error_payload(code, message):
    return bytes((code,)) + message.encode()


class FrameDecoder:
    """Stream parser: feed bytes, get (cmd, flags, seq, payload) frames.

    Resynchronises after garbage: anything that is not a valid header is skipped one
    byte at a time; a frame whose CRC fails is reported as ("crc", seq) and skipped
    (the scan restarts one byte after its SYNC, since that SYNC may have been noise).
    Runs under MicroPython too (no bytearray item deletion).
    """

    def __init__(self):
        self.buf = bytearray()
        self.skipped = 0

    def feed(self, data):
        self.buf = self.buf + data
        out = []
        pos = 0
        while True:
            pos, item = self._next(pos)
            if item is None:
                break
            out.append(item)
        self.buf = self.buf[pos:]
        return out

    def _next(self, pos):
        buf = self.buf
        while len(buf) - pos >= HEADER_SIZE:
            start = buf.find(SYNC, pos)
            if start < 0:
                self.skipped += len(buf) - 1 - pos
                return len(buf) - 1, None
            self.skipped += start - pos
            pos = start
            if len(buf) - pos < HEADER_SIZE:
                return pos, None
            head = parse_header(buf[pos:pos + HEADER_SIZE])
            if head is None or head[3] > MAX_PAYLOAD:
                self.skipped += 1
                pos += 1
                continue
            length = head[3]
            end = pos + HEADER_SIZE + length + TRAILER_SIZE
            if len(buf) < end:
                return pos, None
            if not body_crc_ok(buf[pos:pos + HEADER_SIZE], buf[pos + HEADER_SIZE:end], length):
                self.skipped += 1
                return pos + 1, ("crc", head[2])
            return end, (head[0], head[1], head[2], bytes(buf[pos + HEADER_SIZE:end - TRAILER_SIZE]))
        return pos, None
