# The on-chip training's inner loop, compiled to machine code by MicroPython's emitters.
#
# `@micropython.viper` (machine ints, raw buffer pointers): the perturbation step packs the
# DAC writes, reads the ADC and sums the squared error with no call and no allocation of
# its own; `@micropython.native` does the float weight update (one float per pass, made
# while the circuit settles). Loaded through emit.py: a port without the emitters (or a test
# that asks for it) gets the same source as bytecode, the decorators left out and the
# pointer casts as identities, so the kernels only index arrays the way a pointer of
# their element size does (bytearray: ptr8, array('H'): ptr16, array('i'): ptr32).
# Every buffer and memoryview is made when a run starts (hot.py).
#
# Where the bus allows less traffic (Microchip DS22187E), a pass writes only what changes:
# - Fast Write (Fig. 5-7): the address, then 2 bytes per channel (0 0 PD1 PD0 D11..D8,
#   D7..D0) from channel A on; each input register is taken at the ACK of its 2nd byte, so
#   the write may stop after the last channel that changed: 2 (j + 1) bytes for channel j.
# - Multi-Write (Fig. 5-8): 3 bytes per channel (0 1 0 0 0 DAC1 DAC0 UDAC, VREF PD1 PD0 Gx
#   D11..D8, D7..D0), any channels in any order, in one transaction.
# pack() takes the shorter of the two (host/compare/limits.py counts the same).
# ptr8/ptr16/ptr32 are the viper emitter's built-in casts (emit.py: identities as bytecode).
# ruff: noqa: F821
from time import ticks_diff, ticks_us

import micropython

FRAC = 16                   # weights in fixed point: code * 2^16 (4095 * 2^16 < 2^31)


@micropython.viper
def pack(buf, codes, first: int, mask: int, vref: int) -> int:
    """The shortest write of the chip channels in `mask` (bit c: channel c, whose code is
    codes[first + c]) into buf; returns its length in bytes."""
    b = ptr8(buf)
    c = ptr16(codes)
    top = 0
    n = 0
    i = 0
    while i < 4:
        if mask & (1 << i):
            top = i
            n += 1
        i += 1
    if 2 * (top + 1) <= 3 * n:                  # Fast Write, channels A..top (Fig. 5-7)
        i = 0
        while i <= top:
            code = c[first + i]
            b[2 * i] = code >> 8                # C2 C1 = 0 0, PD1 PD0 = 0 0 (normal)
            b[2 * i + 1] = code & 0xFF
            i += 1
        return 2 * (top + 1)
    j = 0                                       # Multi-Write, only the channels (Fig. 5-8)
    i = 0
    while i < 4:
        if mask & (1 << i):
            code = c[first + i]
            b[j] = 0x40 | (i << 1)              # UDAC = 0: the output follows at the ACK
            b[j + 1] = vref | (code >> 8)       # Gx = 0, PD1 PD0 = 0 0
            b[j + 2] = code & 0xFF
            j += 3
        i += 1
    return j


@micropython.viper
def read_codes(reads, over: int, shift: int, out, pos: int) -> int:
    """Each reader `over` times: the rounded mean of read() >> shift into out[pos], ...
    (u16); returns the position after the last."""
    o = ptr16(out)
    half = over >> 1
    for read in reads:
        total = 0
        j = 0
        while j < over:
            total += int(read()) >> shift
            j += 1
        o[pos] = (total + half) // over
        pos += 1
    return pos


@micropython.viper
def round_codes(wq, base, n: int):
    """base[k] = wq[k] rounded to the nearest code (weights in fixed point, FRAC bits)."""
    w = ptr32(wq)
    b = ptr16(base)
    i = 0
    while i < n:
        b[i] = (w[i] + 32768) >> 16
        i += 1


@micropython.native
def update(h, k, diff):
    """Weight k's step from its error difference (quarter LSB^2), clipped to the limits."""
    w = h.wq[k] - int(h.gain[k] * diff)
    h.wq[k] = h.wlo if w < h.wlo else (h.whi if w > h.whi else w)


@micropython.viper
def write(h, a: int, mask: int):
    """Chip a's channels in `mask`, from the shadow codes, in the fewest bytes."""
    n = int(pack(h.bufs[a], h.codes, a << 2, mask, h.vrefs[a]))
    h.writers[a](h.addrs[a], h.views[a][n])


@micropython.viper
def load(h, p: int, weights: int):
    """Pass 0 of a step (weights and pattern p's inputs) or of an evaluation (weights=0:
    inputs only) into the shadow codes, then one write per chip that changed."""
    codes = ptr16(h.codes)
    dirty = ptr8(h.dirty)
    n = 0
    if weights:
        ch = ptr16(h.ch)
        base = ptr16(h.base)
        n = int(h.n_w)
        k = 0
        while k < n:
            c = ch[k]
            if codes[c] != base[k]:
                codes[c] = base[k]
                dirty[c >> 2] |= 1 << (c & 3)
            k += 1
    ich = ptr16(h.input_ch)
    inputs = ptr16(h.inputs)
    n = int(h.n_in)
    j = p * n
    k = 0
    while k < n:
        c = ich[k]
        if codes[c] != inputs[j + k]:
            codes[c] = inputs[j + k]
            dirty[c >> 2] |= 1 << (c & 3)
        k += 1
    i = 0
    n = int(len(h.bufs))
    while i < n:
        if dirty[i]:
            write(h, i, dirty[i])
            dirty[i] = 0
        i += 1


@micropython.viper
def step(h, p: int, n_pert: int):
    """One weight-perturbation step on pattern p (onchip.py): the base pass, then each
    weight perturbed in turn; each pass writes only the channels it changes (weight k
    perturbed, weight k-1 restored: one transaction when both sit on one chip), and each
    weight's update is done while the circuit settles for the next pass. Everything a pass
    needs is fetched once per step: a pass makes no attribute lookups. n_pert = 0: the
    base pass only (an evaluation, readings left in h.out)."""
    n_w = int(h.n_w)
    codes_obj, out_obj = h.codes, h.out
    codes = ptr16(codes_obj)
    ch = ptr16(h.ch)
    base = ptr16(h.base)
    pert = ptr16(h.pert)
    chip_of = ptr8(h.chip_of)
    out = ptr16(out_obj)
    t2 = ptr32(h.t2)
    hi = int(h.hi)
    n_out = int(h.n_out)
    toff = p * n_out
    esh = int(h.esh)
    us = int(h.settle_us)
    settle = h.settle
    adc, chans, over = int(h.adc_base), h.chans, int(h.over)
    reads, shift = h.reads, h.shift
    bufs, views, vrefs, addrs, writers = h.bufs, h.views, h.vrefs, h.addrs, h.writers
    errs = h.errs
    cs = ptr32(adc)
    cs_set = ptr32(adc + 0x2000)
    ainsel = ptr8(chans)
    timer = int(h.timer)
    clock = ptr32(timer)
    round_codes(h.wq, h.base, n_w)
    load(h, p, 1)                                # base codes and inputs: pass 0's write
    e0 = 0
    k = -1
    while k < n_pert:
        if k >= 0:                               # weight k perturbed, k-1 restored
            c = ch[k]
            d = pert[k]
            if base[k] + d > hi:
                d = 0 - d
            codes[c] = base[k] + d
            a = chip_of[k]
            mask = 1 << (c & 3)
            if k > 0:
                r = ch[k - 1]
                codes[r] = base[k - 1]
                b = chip_of[k - 1]
                if a == b:
                    mask |= 1 << (r & 3)
                else:
                    n = int(pack(bufs[b], codes_obj, b << 2, 1 << (r & 3), vrefs[b]))
                    writers[b](addrs[b], views[b][n])
            # pack() inlined (a call costs ~15 us of a pass): a Multi-Write of the 1 or 2
            # channels (Fig. 5-8), or a Fast Write up to channel A..top when shorter (Fig. 5-7)
            buf = ptr8(bufs[a])
            first = a << 2
            top = 3 if mask & 8 else (2 if mask & 4 else (1 if mask & 2 else 0))
            cnt = (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1) + ((mask >> 3) & 1)
            if 2 * (top + 1) <= 3 * cnt:
                i = 0
                while i <= top:
                    buf[2 * i] = codes[first + i] >> 8
                    buf[2 * i + 1] = codes[first + i] & 0xFF
                    i += 1
                n = 2 * (top + 1)
            else:
                vref = int(vrefs[a])
                n = 0
                i = 0
                while i < 4:
                    if mask & (1 << i):
                        buf[n] = 0x40 | (i << 1)
                        buf[n + 1] = vref | (codes[first + i] >> 8)
                        buf[n + 2] = codes[first + i] & 0xFF
                        n += 3
                    i += 1
            writers[a](addrs[a], views[a][n])
        t0 = clock[0] if timer else int(ticks_us())
        if k > 0:
            update(h, k - 1, errs[k - 1])       # while the circuit settles
        elif k < 0:
            h.idle()                            # the line, progress frames (onchip.py)
        if timer:                               # the Pico: spin on the us timer itself
            end = t0 + us
            while clock[0] - end < 0:
                pass
        else:
            left = us - int(ticks_diff(ticks_us(), t0))
            if left > 0:
                settle(left)
        if adc:
            # the RP2040 ADC at its registers (RP2040 datasheet 4.9.6): AINSEL (CS bits
            # 14:12), START_ONCE (CS bit 2, by the atomic set alias at +0x2000), wait for
            # READY (CS bit 8), take RESULT (+0x4): what machine.ADC.read_u16() does
            # (pico-sdk adc_select_input, adc_read), without a call per sample
            i = 0
            while i < n_out:
                cs[0] = (cs[0] & ~0x7000) | (ainsel[i] << 12)
                total = 0
                j = 0
                while j < over:
                    cs_set[0] = 4
                    while not (cs[0] & 0x100):
                        pass
                    total += cs[1] & 0xFFF
                    j += 1
                out[i] = (total + (over >> 1)) // over
                i += 1
        else:
            read_codes(reads, over, shift, out_obj, 0)
        e = 0
        i = 0
        while i < n_out:
            dd = (2 * out[i] - t2[toff + i]) >> esh
            e += dd * dd
            i += 1
        if k < 0:
            e0 = e
        elif d > 0:
            errs[k] = e - e0
        else:
            errs[k] = e0 - e
        k += 1
    if n_pert:
        update(h, n_pert - 1, errs[n_pert - 1])
