"""The wire commands of the serial driver: Device calls as protocol requests, split to fit.

A batch of forward passes becomes as few EVALUATE, PERTURB or SEQUENCE requests as fit the
protocol's maximum payload (firmware/PROTOCOL.md), each reply of u16 readings decoded back
into the batch; on-chip training is one TRAIN request that streams progress events. Codes
go to the board shifted to the MCP4728's 12 bits (`dac_shift`, drivers/board_strategy.py).

`WireCommands` is a mixin of `SerialDevice` (drivers/serial_device.py): it sends through
its `request()` (which retries and reconnects) and uses its `bench`, `dac_shift` and `link`.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from wphil.drivers.base import Perturbation
from wphil.drivers.compact import sequence_rows, sequence_timeout
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)

_VALUES = P.MAX_PAYLOAD // 2          # u16 readings per reply
TRAIN_SILENCE_S = 60.0                # longest wait for an on-chip progress frame


class WireCommands:
    """The Device hooks that become wire requests (codes, evaluations, on-chip training)."""

    #: wall seconds allowed per second of paced sequence time (a Pico paces in real time:
    #: twice that for margin; rp2040:// sets its emulator's own)
    sequence_time_factor = 2.0

    def _set_codes(self, codes: np.ndarray) -> None:
        self.request(P.SET_CODES, _u16(codes << self.dac_shift))

    def _set_channel(self, channel: int, code: int) -> None:
        self.request(P.SET_CHANNEL, struct.pack("<BH", channel, code << self.dac_shift))

    def _safe(self) -> None:
        self.request(P.SAFE)

    def _n_read(self, hidden: bool) -> int:
        return self.bench.n_outputs + (len(self.bench.wiring.hidden) if hidden else 0)

    def _evaluate(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
        inputs, codes = inputs << self.dac_shift, codes << self.dac_shift
        n_read, n_w, n_in = self._n_read(hidden), self.bench.n_weights, self.bench.n_inputs
        out = np.empty((len(codes), len(inputs), n_read), dtype=np.int64)
        p_step = max(1, min(len(inputs), _VALUES // n_read,
                            (P.MAX_PAYLOAD - 5 - 2 * n_w) // (2 * n_in)))
        for p0 in range(0, len(inputs), p_step):
            pats = inputs[p0:p0 + p_step]
            b_step = max(1, min(_VALUES // (len(pats) * n_read),
                                (P.MAX_PAYLOAD - 5 - 2 * pats.size) // (2 * n_w)))
            for b0 in range(0, len(codes), b_step):
                batch = codes[b0:b0 + b_step]
                head = struct.pack("<BHH", P.E_HIDDEN if hidden else 0, len(batch), len(pats))
                reply = self.request(P.EVALUATE, head + _u16(batch) + _u16(pats),
                                     reply_size=2 * len(batch) * len(pats) * n_read)
                out[b0:b0 + len(batch), p0:p0 + len(pats)] = _readings(reply, len(batch),
                                                                       len(pats), n_read)
        return out

    def _evaluate_perturbed(self, inputs: np.ndarray, base: np.ndarray,
                            perturbations: Sequence[Perturbation], hidden: bool) -> np.ndarray:
        shift = self.dac_shift
        inputs, base = inputs << shift, base << shift
        perturbations = [[(k, d << shift) for k, d in pert] for pert in perturbations]
        n_read = self._n_read(hidden)
        out = np.empty((len(perturbations) + 1, len(inputs), n_read), dtype=np.int64)
        p_step = max(1, min(len(inputs), _VALUES // n_read))
        for p0 in range(0, len(inputs), p_step):
            pats = inputs[p0:p0 + p_step]
            rows_per = max(1, min(_VALUES, self.link.reply_budget() // 2) // (len(pats) * n_read))
            row = 0       # next output row: 0 is the base
            while row <= len(perturbations):
                with_base = row == 0
                chunk = list(perturbations[max(row - 1, 0):max(row - 1, 0) + rows_per - with_base])
                n_rows = len(chunk) + with_base
                reply = self._perturb_request(base, chunk, pats, hidden, with_base,
                                              2 * n_rows * len(pats) * n_read)
                out[row:row + n_rows, p0:p0 + len(pats)] = _readings(reply, n_rows, len(pats), n_read)
                row += n_rows
        return out

    def _perturb_request(self, base: np.ndarray, perts: list, pats: np.ndarray, hidden: bool,
                         with_base: bool, reply_size: int) -> bytes:
        flags = (P.E_HIDDEN if hidden else 0) | (0 if with_base else P.E_NO_BASE)
        body = [struct.pack("<BHH", flags, len(perts), len(pats)), _u16(base)]
        for pert in perts:
            body.append(bytes((len(pert),)) + b"".join(struct.pack("<Bh", k, d) for k, d in pert))
        body.append(_u16(pats))
        payload = b"".join(body)
        if len(payload) > P.MAX_PAYLOAD:
            raise DeviceError(f"a perturbation request of {len(payload)} bytes exceeds the "
                              f"protocol maximum {P.MAX_PAYLOAD}")
        return self.request(P.PERTURB, payload, reply_size=reply_size)

    # -- sequences (recurrent benches) ---------------------------------------------------
    def _evaluate_sequence(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool,
                           step_us: int, resume: bool) -> np.ndarray:
        """A batch of weight vectors goes as the first one plus sparse differences."""
        base = codes[0]
        perts = [[(int(k), int(row[k] - base[k])) for k in np.flatnonzero(row != base)]
                 for row in codes[1:]]
        return self._sequence_rows(inputs, base, perts, hidden, step_us, resume)

    def _evaluate_sequence_perturbed(self, inputs: np.ndarray, base: np.ndarray,
                                     perturbations: Sequence[Perturbation], hidden: bool,
                                     step_us: int) -> np.ndarray:
        return self._sequence_rows(inputs, base, list(perturbations), hidden, step_us, False)

    def _sequence_rows(self, inputs: np.ndarray, base: np.ndarray, perts: list, hidden: bool,
                       step_us: int, resume: bool) -> np.ndarray:
        """SEQUENCE requests for the base then each perturbation, split to fit replies."""
        n_read, steps = self._n_read(hidden), len(inputs)
        reset_us = 0 if resume else self.bench.recurrent.reset_us
        rows_per = sequence_rows((P.MAX_PAYLOAD - P.SEQUENCE_HEADER) // (2 * steps * n_read),
                                 steps, step_us, reset_us)
        if rows_per < 1:
            raise ConfigError(f"a sequence of {steps} steps x {n_read} readouts does not fit "
                              f"one reply ({P.MAX_PAYLOAD} bytes): shorten it")
        out = np.empty((len(perts) + 1, steps, n_read), dtype=np.int64)
        timing = {"step_us": step_us, "overruns": 0, "max_late_us": 0, "paced_us": 0}
        row = 0
        while row <= len(perts):
            with_base = row == 0
            chunk = _fitting(perts[max(row - 1, 0):max(row - 1, 0) + rows_per - with_base],
                             P.MAX_PAYLOAD - 9 - 2 * (len(base) + inputs.size))
            flags = ((P.E_HIDDEN if hidden else 0) | (0 if with_base else P.E_NO_BASE)
                     | (P.E_CONTINUE if resume else 0))
            body = [struct.pack("<BHHI", flags, len(chunk), steps, step_us), _u16(base)]
            body += [bytes((len(p),)) + b"".join(struct.pack("<Bh", k, d) for k, d in p)
                     for p in chunk]
            n_rows = len(chunk) + with_base
            reply = self.request(P.SEQUENCE, b"".join(body) + _u16(inputs), timeout=sequence_timeout(
                n_rows, steps, step_us, reset_us, self.link.timeout, self.sequence_time_factor))
            overruns, late, paced = struct.unpack_from("<HII", reply, 0)
            timing["overruns"] += overruns
            timing["max_late_us"] = max(timing["max_late_us"], late)
            timing["paced_us"] += paced
            out[row:row + n_rows] = _readings(reply[P.SEQUENCE_HEADER:], n_rows, steps, n_read)
            row += n_rows
        timing["period_us"] = timing.pop("paced_us") / (len(out) * steps)
        self.sequence_timing = timing
        return out

    # -- on-chip training ---------------------------------------------------------------
    def train_onchip(self, job: dict[str, Any],  # type: ignore[override]
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Run the firmware's own perturbation loop; progress dicts arrive once per epoch.

        On KeyboardInterrupt the device is told to STOP and its final state is returned.
        """
        def event(payload: bytes) -> None:
            if on_progress:
                on_progress(json.loads(payload))

        payload = json.dumps(job).encode()
        if len(payload) > P.MAX_PAYLOAD:
            raise ConfigError(f"the data set is too large for on-chip training ({len(payload)} "
                              f"bytes > {P.MAX_PAYLOAD})")
        try:
            # the firmware stops an on-chip run after host_timeout_ms without a frame
            keepalive = self.bench.timing.host_timeout_ms / 1000 / 4
            result = json.loads(self.request(P.TRAIN, payload, timeout=TRAIN_SILENCE_S,
                                             keepalive=keepalive,
                                             on_event=event))
        except KeyboardInterrupt:
            log.info("interrupted: stopping on-chip training")
            self.link.port.write(P.encode(P.STOP, 0))
            raise
        self.queries += int(result.get("queries", 0))
        return result


def _fitting(perts: list, room: int) -> list:
    """The leading perturbations whose encoding (1 + 3 bytes per weight) fits in `room`."""
    used = 0
    for i, pert in enumerate(perts):
        used += 1 + 3 * len(pert)
        if used > room:
            if i == 0:
                raise DeviceError(f"a perturbation of {len(pert)} weights does not fit a request")
            return perts[:i]
    return perts


def _u16(codes: np.ndarray) -> bytes:
    return np.ascontiguousarray(codes, dtype="<u2").tobytes()


def _readings(reply: bytes, rows: int, patterns: int, n_read: int) -> np.ndarray:
    want = 2 * rows * patterns * n_read
    if len(reply) != want:
        raise DeviceError(f"reply has {len(reply)} bytes of readings, expected {want}")
    return np.frombuffer(reply, dtype="<u2").reshape(rows, patterns, n_read)
