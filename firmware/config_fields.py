# CONFIGURE's fields, one line each: type, range, default. Every field of a request is
# checked here before the rig changes anything (PROTOCOL.md, "An error reply changes
# nothing"); a field not in these tables is refused, so a misspelt one is not ignored.
# Rules between fields (weights per topology, min <= safe <= max, channels per chip count)
# are checked by Rig.configure, still before anything is written.
from protocol import ADC_ORDER, CONFIG_ORDER, DAC_ORDER, ERR_BAD_PAYLOAD

REQUIRED = object()
INT, NUM, STR, OBJ = "int", "number", "string", "object"
INTS, PAIRS = "list of ints", "list of [int, int]"

# kind, lo, hi (for INTS/PAIRS: each int; for OBJ: lo is the sub-table), default
DAC_FIELDS = {
    "kind": (STR, None, None, REQUIRED),
    "chips": (INT, 1, 8, REQUIRED),            # MCP4728 addresses 0x60..0x67
    "bits": (INT, 1, 16, REQUIRED),
    "vref": (NUM, 0, 6, REQUIRED),             # V: 2.048 internal, else VDD (MCP4728 DS, 2.7-5.5 V)
    "i2c_id": (INT, 0, 1, REQUIRED),           # RP2040 has I2C0 and I2C1
    "sda": (INT, 0, 29, REQUIRED),             # RP2040 GPIO0..29
    "scl": (INT, 0, 29, REQUIRED),
    "i2c_hz": (INT, 1, 3400000, REQUIRED),     # MCP4728 high-speed mode tops out at 3.4 MHz
    "ldac_gpio": (INT, -1, 29, -1),            # chip k's LDAC on GPIO ldac_gpio + k; -1: tied low
}
ADC_FIELDS = {
    "kind": (STR, None, None, REQUIRED),
    "channels": (INT, 1, 8, REQUIRED),
    "bits": (INT, 1, 16, REQUIRED),
    "vref": (NUM, 0, 6, REQUIRED),
    "oversample": (INT, 1, 65535, 1),
}
FIELDS = {
    "layers": (INTS, 0, 255, REQUIRED),
    "weights": (INTS, 0, 255, REQUIRED),       # DAC channels (Rig: < 4 x chips)
    "inputs": (INTS, 0, 255, REQUIRED),
    "outputs": (INTS, 0, 255, REQUIRED),       # ADC channels (Rig: < the ADC's channels)
    "hidden": (INTS, 0, 255, []),
    "dac": (OBJ, DAC_FIELDS, None, REQUIRED),
    "adc": (OBJ, ADC_FIELDS, None, REQUIRED),
    "min_code": (INT, 0, 4095, REQUIRED),
    "max_code": (INT, 0, 4095, REQUIRED),
    "safe_code": (INT, 0, 4095, REQUIRED),
    "settle_us": (INT, 0, 1000000, 10),
    "host_timeout_ms": (INT, 0, 3600000, 2000),
    "watchdog_ms": (INT, 0, 8388, 0),          # rp2 machine.WDT: at most 8388 ms (MicroPython docs)
    "feedback": (INT, 0, 255, 0),
    "reset_pin": (INT, -1, 29, -1),            # -1: no capacitor reset switch
    "reset_us": (INT, 0, 10000000, 0),
    "fixed": (PAIRS, 0, 4095, []),             # [DAC channel, code]
}


class BadField(Exception):
    code = ERR_BAD_PAYLOAD


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _in(x, lo, hi):
    return lo is None or lo <= x <= hi


def _ok(kind, value, lo, hi):
    if kind == INT:
        return is_int(value) and _in(value, lo, hi)
    if kind == NUM:
        return (is_int(value) or isinstance(value, float)) and _in(value, lo, hi)
    if kind == STR:
        return isinstance(value, str)
    if kind == INTS:
        return isinstance(value, list) and all(is_int(x) and _in(x, lo, hi) for x in value)
    if kind == PAIRS:
        return isinstance(value, list) and all(
            isinstance(p, list) and len(p) == 2 and _ok(INTS, p, lo, hi) for p in value)
    return isinstance(value, dict)


def checked(obj, fields=FIELDS, where=""):
    """A copy of obj with defaults filled in; BadField naming the first bad field."""
    if not isinstance(obj, dict):
        raise BadField("%s must be a JSON object" % (where or "the payload"))
    for name in obj:
        if name not in fields:
            raise BadField("unknown field %s%s" % (where, name))
    out = {}
    for name, (kind, lo, hi, default) in fields.items():
        if name not in obj:
            if default is REQUIRED:
                raise BadField("missing field %s%s" % (where, name))
            out[name] = default
            continue
        value = obj[name]
        if not _ok(kind, value, lo, hi):
            span = "" if lo is None or kind == OBJ else " in %s..%s" % (lo, hi)
            raise BadField("%s%s must be a %s%s, not %r" % (where, name, kind, span, value))
        out[name] = checked(value, lo, name + ".") if kind == OBJ else value
    return out


def _named(values, order, where):
    if not isinstance(values, list):
        raise BadField("%s must be a JSON list in the short form" % (where or "the payload"))
    if len(values) > len(order):
        raise BadField("%s has %d values, at most %d" % (where or "the payload", len(values),
                                                         len(order)))
    return {k: v for k, v in zip(order, values) if v is not None}    # null: the default


def from_short(values):
    """The object form of a short-form (list) CONFIGURE; `checked` then checks it. The short
    form (firmware 0.3.0) is the values in protocol.CONFIG_ORDER: the 415-byte object of a
    small bench is 150 bytes, which a line that damages one byte in a few hundred delivers
    3x as often."""
    obj = _named(values, CONFIG_ORDER, "")
    for name, order in (("dac", DAC_ORDER), ("adc", ADC_ORDER)):
        if name in obj:
            obj[name] = _named(obj[name], order, name)
    return obj
