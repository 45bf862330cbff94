# SEQUENCE: replay an input sequence on a recurrent network, for a base weight vector and
# a batch of perturbations, pacing the steps with the board's own microsecond timer.
#
# Per weight vector: close the capacitor reset switches (unless CONTINUE; step 0's inputs
# are written while they are closed), then for each step write its input codes, let the
# circuit run and sample every readout at the step's deadline t0 + (s + 1) * step_us, t0
# being the instant the switches opened. The circuit model changes a step's inputs at the
# previous step's sample instant; a bus write after the sample lands a write's time later
# (on the emulated Pico ~270 us: a seventh of a 2 ms step), so with the chips' LDAC wired
# (CONFIGURE dac.ldac_gpio) the next step's inputs go into the DAC input registers before
# the deadline, LDAC held high, and LDAC falls right after the sample: the outputs change
# then (MCP4728 DS22187E Table 4-5; Fig. 5-8 note 1). A step whose work ends after its
# deadline is an overrun: it is sampled at once and counted, with the worst lateness; the
# reply reports both and the paced time, so the host knows the period it really got.
import struct
import time

from protocol import (
    E_CONTINUE,
    E_HELD,
    E_HIDDEN,
    E_NO_BASE,
    ERR_BAD_LENGTH,
    ERR_BAD_PAYLOAD,
    HEADER_SIZE,
    MAX_PAYLOAD,
    MAX_SEQUENCE_US,
    SEQUENCE_HEADER,
)
from rig import ProtoError

SLEEP_MARGIN_US = 1500     # sleep until this close to a deadline, then spin: sleep is coarse
                           # (a board module may set its own SLEEP_MARGIN_US)


def _codes(rig, req, offset, n, what):
    codes = struct.unpack_from("<%dH" % n, req, offset)
    for c in codes:
        rig.check(c, what)
    return codes


def _perturbations(rig, req, pos, count, base):
    """`count` perturbations as lists of (weight, code); returns them and the next offset."""
    perts = []
    for _ in range(count):
        if pos >= len(req):
            raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: payload ends inside perturbation %d"
                             % len(perts))
        m = req[pos]
        if len(req) < pos + 1 + 3 * m:
            raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: payload ends inside perturbation %d"
                             % len(perts))
        pairs = []
        for i in range(m):
            k, delta = struct.unpack_from("<Bh", req, pos + 1 + 3 * i)
            if k >= rig.n_w:
                raise ProtoError(ERR_BAD_PAYLOAD, "SEQUENCE: weight %d of %d" % (k, rig.n_w))
            rig.check(base[k] + delta, "perturbed weight %d" % k)
            pairs.append((k, base[k] + delta))
        perts.append(pairs)
        pos += 1 + 3 * m
    return perts, pos


def replay(server, req):
    rig, board = server.rig, server.board
    rig.need_config()
    if len(req) < 9:
        raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: payload shorter than its 9-byte header")
    flags, count, steps, step_us = struct.unpack_from("<BHHI", req, 0)
    if step_us < 1:
        raise ProtoError(ERR_BAD_PAYLOAD, "SEQUENCE: step period must be at least 1 us")
    readouts = rig.readouts if flags & E_HIDDEN else rig.outputs
    pos = 9
    if flags & E_HELD:
        base = list(rig.held)
    else:
        if len(req) < pos + 2 * rig.n_w:
            raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: payload ends inside the base codes")
        base = list(_codes(rig, req, pos, rig.n_w, "base"))
        pos += 2 * rig.n_w
    perts, pos = _perturbations(rig, req, pos, count, base)
    if len(req) != pos + 2 * steps * rig.n_in:
        raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: payload is %d bytes, expected %d"
                         % (len(req), pos + 2 * steps * rig.n_in))
    inputs = _codes(rig, req, pos, steps * rig.n_in, "input")
    rows = ([[]] if not flags & E_NO_BASE else []) + perts
    if flags & E_CONTINUE and len(rows) != 1:
        raise ProtoError(ERR_BAD_PAYLOAD, "SEQUENCE: CONTINUE needs exactly one weight vector")
    paced_us = len(rows) * ((0 if flags & E_CONTINUE else rig.reset_us) + steps * step_us)
    if paced_us > MAX_SEQUENCE_US:
        raise ProtoError(ERR_BAD_PAYLOAD, "SEQUENCE: %d rows would pace %d ms, over the %d ms "
                         "a request may take: split the rows" % (len(rows), paced_us // 1000,
                                                                 MAX_SEQUENCE_US // 1000))
    if 2 * len(rows) * steps * len(readouts) + SEQUENCE_HEADER > MAX_PAYLOAD:
        raise ProtoError(ERR_BAD_LENGTH, "SEQUENCE: reply of %d readings exceeds %d bytes: "
                         "split the batch" % (len(rows) * steps * len(readouts), MAX_PAYLOAD))
    timing = [0, 0, 0]           # overruns, worst lateness, paced time (us)
    out = HEADER_SIZE + SEQUENCE_HEADER
    ch, dacs = rig.weight_ch, rig.dacs
    rig.load_weights(base)
    for pairs in rows:
        for k, code in pairs:
            dacs.set(ch[k], code)
        dacs.flush()
        t0 = None
        if not flags & E_CONTINUE:
            # step 0's inputs go out while the switches still hold the capacitors empty, and
            # step 0 starts at the release: written after it, they would land a few hundred
            # us into the step on a Pico (CPU + bus time), with the last row's inputs before
            rig.apply_inputs(inputs, 0)
            t0 = board.reset_circuit(rig.reset_pin, rig.reset_us)
        out = _paced(rig, board, inputs, steps, step_us, server.tx, out, readouts, timing, t0)
        for k, _ in pairs:
            dacs.set(ch[k], base[k])
    struct.pack_into("<HII", server.tx, HEADER_SIZE, min(timing[0], 65535), timing[1], timing[2])
    return out - HEADER_SIZE


def _ldac_pins(rig, board):
    """The LDAC pins of the chips holding an input (None: LDAC tied low, or a board module
    without ldac_pin): driven low, as the pull-down holds them."""
    if rig.ldac_gpio < 0 or not hasattr(board, "ldac_pin"):
        return None
    chips = []
    for ch in rig.input_ch:
        if ch >> 2 not in chips:
            chips.append(ch >> 2)
    return [board.ldac_pin(rig.ldac_gpio + k) for k in chips]


def _paced(rig, board, inputs, steps, step_us, tx, out, readouts, timing, t0):
    ticks_us, ticks_diff, elapse = time.ticks_us, time.ticks_diff, board.elapse
    margin = getattr(board, "SLEEP_MARGIN_US", SLEEP_MARGIN_US)
    ldac = _ldac_pins(rig, board)
    if t0 is None:               # a board that does not time its reset, or CONTINUE
        t0 = ticks_us()
    deadline = t0
    stage, flush, input_ch, n_in = rig.dacs.set, rig.dacs.flush, rig.input_ch, rig.n_in
    codes, chips = rig.dacs.codes, rig.dacs.chips
    rig.apply_inputs(inputs, 0)              # (written already, unless CONTINUE)
    for s in range(steps):
        deadline = time.ticks_add(deadline, step_us)
        if s and ldac is None:
            flush()      # this step's inputs, staged before the last sample: without LDAC
            # they land a bus write after it (on a Pico ~100 us of it at 400 kHz)
        elapse(step_us)
        if s + 1 < steps:
            base = (s + 1) * n_in
            if ldac is None:
                for j in range(n_in):
                    stage(input_ch[j], inputs[base + j])
            else:                # into the input registers only: LDAC high, UDAC = 1
                for pin in ldac:
                    pin.value(1)
                for j in range(n_in):
                    ch, code = input_ch[j], inputs[base + j]
                    if codes[ch] != code:
                        codes[ch] = code
                        chips[ch >> 2].stage(ch & 3, code)
        late = ticks_diff(ticks_us(), deadline)
        if late > 0:
            timing[0] += 1
            if late > timing[1]:
                timing[1] = late
        else:
            if late < -margin:
                time.sleep_us(-late - margin)
            while ticks_diff(deadline, ticks_us()) > 0:
                pass
        out = rig.sample(tx, out, readouts)
        if ldac is not None:
            for pin in ldac:     # the next step's inputs reach the outputs now
                pin.value(0)
    timing[2] += ticks_diff(ticks_us(), t0)
    return out
