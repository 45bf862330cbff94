"""The serial driver: a Pico running the wphil firmware, reached with pyserial.

URL format: PORT | serial://PORT[?option=value&...] | auto | rfc2217://HOST:PORT |
            socket://HOST:PORT | loop://
    PORT is a local port name (/dev/ttyACM0, COM3); `auto` is the first port whose USB
    vendor is the Raspberry Pi Pico's (0x2E8A). rfc2217://, socket:// and loop:// are
    pyserial's own URL handlers (a bench behind ser2net), passed through unchanged.
    Options (serial:// only): timeout=S (the longest wait for one reply, s; the link
    waits as long as it has measured such a request to take, doubling up to S),
    retries=N (a request is given up after N retries and at least S seconds),
    reconnect=S (how long connecting may take, and a request from its first failure to
    its reply, reconnects and re-configures included), faults=..., fault_seed=N (fault
    injection, see drivers/faults.py), seed=N, board_seed=N (the board instance a
    simulated board behind the line is to be, drivers/sim_seeds.py; these two on every
    serial URL, socket:// and rfc2217:// included).

On open: the handshake (protocol and firmware versions must match this wphil), then the
bench's wiring, limits and timing are sent (CONFIGURE). The firmware drives 12-bit MCP4728s;
a bench (or profile) with fewer DAC bits runs on them by code scaling: the host sends
code << (12 - bits), so the board only ever holds every 2^(12 - bits)-th code, exactly
the coarser DAC's levels, and the firmware is unchanged. More than 12 bits is refused.
Batches are split so every request and reply fits the protocol's maximum payload.

Recovery: a lost or corrupted reply is retried by sequence number (drivers/link.py). A
request that still gets no answer, a port that fails, or a NOT_CONFIGURED answer makes
the driver reconnect: reopen the port (a local Pico is found again by its USB serial
number, wherever it re-enumerates), handshake, and if the boot id changed (the board was
reset) configure it and send the weight codes it held (also if it went safe after host
silence); then the request is repeated, until `reconnect` seconds after its first failure
(deadlines and the reset-storm rule: drivers/deadlines.py). The caller never sees the
fault, so the run continues exactly as it would have.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import serial
from serial.tools import list_ports

from wphil.drivers.base import Device, DeviceInfo, Perturbation
from wphil.drivers.bench import Bench
from wphil.drivers.deadlines import BAUD, Deadline, RequestBudget, reply_timeout
from wphil.drivers.errors import ConfigError, DeviceError, DeviceTimeout, FirmwareError
from wphil.drivers.faults import FaultSpec, FaultState, FaultyPort
from wphil.drivers.hardware import hardware
from wphil.drivers.link import WRONG_ARCH, WRONG_ARCH_HINT, Link, LinkLost
from wphil.drivers.ports import explain_open_error, find_pico, usb_serial_number
from wphil.drivers.sim_seeds import (
    SIM_OPTIONS,
    parse_sim_options,
    sim_board_payload,
    sim_seeds,
    split_sim_options,
)
from wphil.drivers.sim_seeds import applies as sim_seeds_apply
from wphil.drivers.urls import natural, non_negative, parse_options
from wphil.drivers.wirelog import WireLog
from wphil.firmware import protocol as P
from wphil.firmware.version import FIRMWARE_VERSION

log = logging.getLogger(__name__)

OPTIONS: dict[str, Callable[[str], Any]] = {
    "timeout": reply_timeout, "retries": natural, "reconnect": non_negative, "faults": str,
    "fault_seed": natural, **SIM_OPTIONS}       # seed, board_seed: drivers/sim_seeds.py
_VALUES = P.MAX_PAYLOAD // 2          # u16 readings per reply
MCP4728_BITS = 12                     # the only DAC the firmware drives
TRAIN_SILENCE_S = 60.0                # longest wait for an on-chip progress frame
REOPEN_PAUSE_S = 0.1               # between attempts to reopen a port that vanished


class WrongFirmware(DeviceError):
    """The board runs another firmware or protocol version: waiting will not fix it."""


class SerialDevice(Device):
    """A Device over the wphil wire protocol."""

    onchip = True
    #: on the first connect, how long a board may still be booting, on top of `reconnect`
    #: (0 for a Pico: it has booted by the time its USB port exists; a board process we just
    #: started, like upy://, may take a while on a busy host before it reads its line)
    boot_s = 0.0

    def __init__(self, url: str, bench: Bench, wire_log: str | None = None) -> None:
        super().__init__(url, bench)
        self.check_bench(bench)
        self.dac_shift = dac_shift(bench)
        opts = self.parse_url(url)
        self.reconnect_s = opts.get("reconnect", 30.0)
        self.faults = FaultState(FaultSpec.parse(opts.get("faults", ""), opts.get("fault_seed", 0)),
                                 self.fault_hooks())
        self.wire_log = WireLog(wire_log) if wire_log else None
        self.recoveries = 0
        self.sim_seeds = self.sim_seeds_of(url, bench)
        self.port_name = self.resolve_port(url)
        self.usb_serial = usb_serial_number(self.port_name)
        self.port = self._open_port(self.port_name)
        self.link = Link(self.port, opts.get("timeout", 2.0), opts.get("retries", 3), self.wire_log)
        try:
            self.hello = self.connect()
        except BaseException:
            self.port.close()
            raise

    # -- URL and port -------------------------------------------------------------------
    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        if url.startswith("serial://"):
            opts = parse_options(url, OPTIONS, scheme="serial")
            FaultSpec.parse(opts.get("faults", ""))
            return opts
        return parse_sim_options(url)

    def sim_seeds_of(self, url: str, bench: Bench) -> dict[str, int] | None:
        """The board instance a simulated board on this line is to be (drivers/sim_seeds.py);
        a board process we start ourselves (upy://, rp2040://) has its own."""
        return sim_seeds(self.parse_url(url), bench)

    @classmethod
    def check_bench(cls, bench: Bench, onchip: bool = False) -> None:
        bits = bench.dac.bits
        if bits > MCP4728_BITS:
            raise ConfigError(f"{bench.source} ({bench.profile} profile): {bits}-bit DACs; the "
                              f"firmware drives {MCP4728_BITS}-bit MCP4728s (profiles default "
                              "and harsh run on it, ideal only on mock://)")
        if onchip and bits < MCP4728_BITS:
            raise ConfigError(f"--onchip: the firmware's loop steps whole {MCP4728_BITS}-bit "
                              f"codes, not the {bits}-bit DAC of {bench.source} ({bench.profile} "
                              "profile); train it host-driven (without --onchip)")

    def fault_hooks(self) -> Any:
        """Device-side fault actions (MCU reset, unplug); plain serial ports have none."""
        return None

    @staticmethod
    def resolve_port(url: str) -> str:
        if url == "auto":
            return find_pico()
        if url.startswith("serial://"):
            return url[len("serial://"):].split("?", 1)[0]
        return split_sim_options(url)[0]       # pyserial's handlers refuse options not theirs

    def _open_port(self, name: str) -> serial.SerialBase:
        if self.faults.vanished():
            raise DeviceError(f"cannot open {name}: no such port (unplugged by fault injection)")
        try:
            if "://" in name:
                port = serial.serial_for_url(name, baudrate=BAUD, timeout=0.1)
            else:
                port = serial.Serial(name, baudrate=BAUD, timeout=0.1, exclusive=True)
        except serial.SerialException as exc:
            raise DeviceError(explain_open_error(name, exc)) from None
        return FaultyPort(port, self.faults) if self.faults.spec.any else port

    def _reopen(self) -> None:
        """Open the port again; a local Pico is looked for by its USB serial number."""
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass
        if self.usb_serial:
            for info in list_ports.comports():
                if info.serial_number == self.usb_serial and info.device != self.port_name:
                    log.warning("%s is back as %s", self.port_name, info.device)
                    self.port_name = info.device
        self.port = self._open_port(self.port_name)
        self.link.attach(self.port)

    # -- session ------------------------------------------------------------------------
    def connect(self) -> dict[str, Any]:
        """Handshake and configure, retried until the `reconnect` deadline like a recovery.

        Fails at once on what waiting cannot fix: another firmware, a bench it refuses,
        a MicroPython REPL, or a port that never sent a single byte back (unless it
        failed, as an unplugged one does: it is reopened until the deadline)."""
        seconds = max(self.reconnect_s, self.boot_s)
        deadline = Deadline(seconds, f"reconnect={self.reconnect_s:g} s" if seconds == self.reconnect_s
                            else f"{self.boot_s:g} s to boot")
        return self._until_back("connecting", reopen=False, deadline=deadline, first=True)[0]

    def handshake(self, drain: bool = True) -> dict[str, Any]:
        """HELLO, after discarding what the port sent unasked (boot text, a REPL) if `drain`."""
        junk = self.link.drain() if drain else b""
        if junk:
            log.debug("discarded %d bytes before the handshake: %r", len(junk), junk[:80])
        if WRONG_ARCH in junk:      # main.py's imports failed: no firmware will ever answer
            raise WrongFirmware(f"{self.port_name}: {WRONG_ARCH_HINT}")
        hello = json.loads(self.link.request(P.HELLO, b"wphil"))
        log.info("%s: firmware %s (files %s), protocol %s, board %s, boot id %08x", self.port_name,
                 hello.get("firmware"), hello.get("files"), hello.get("protocol"),
                 hello.get("board"), hello.get("boot_id", 0))
        if hello.get("protocol") != P.PROTOCOL_VERSION or hello.get("firmware") != FIRMWARE_VERSION:
            raise WrongFirmware(f"{self.port_name} runs firmware {hello.get('firmware')} (protocol "
                              f"{hello.get('protocol')}); this wphil needs firmware "
                              f"{FIRMWARE_VERSION} (protocol {P.PROTOCOL_VERSION}): run `wphil flash`")
        return hello

    def simulate(self, hello: dict[str, Any], keep: bool) -> None:
        """Tell a simulated board which board instance to be, before CONFIGURE: afresh on
        the first connect (a new job: as a board process started for it), kept if it already
        is that one on a reconnect (after an MCU reset the circuit and its noise carry on)."""
        if self.sim_seeds is None or not sim_seeds_apply(hello, self.port_name, self.sim_seeds):
            return
        reply = json.loads(self.link.request(P.SIM_BOARD, sim_board_payload(self.bench,
                                                                            self.sim_seeds, keep)))
        log.info("%s simulates board_seed %d, noise seed %d%s", self.port_name,
                 self.sim_seeds["board_seed"], self.sim_seeds["noise_seed"],
                 "" if reply.get("changed") else " (already)")

    def configure(self) -> None:
        try:
            config = json.dumps(firmware_config(self.bench, self.dac_shift),
                                separators=(",", ":")).encode()
            reply = self.link.request(P.CONFIGURE, config)
        except FirmwareError as exc:
            if exc.code == P.ERR_BAD_PAYLOAD:
                raise ConfigError(f"{self.bench.source}: the firmware refuses this bench: "
                                  f"{exc.message}") from None
            raise
        log.debug("configured: %s", reply.decode())

    def request(self, cmd: int, payload: bytes = b"", **kwargs: Any) -> bytes:
        """A request that survives link faults, resets and a port that comes back.

        After a recovery the request is repeated under its first sequence number if the
        board was not reset, so a request it already ran is answered from its cache and
        never runs twice; after a reset it is sent as new. Given up `reconnect` seconds after
        its first failure, recoveries included, or at a reset storm (drivers/deadlines.py).
        """
        seq, budget = self.link.next_seq(), None
        while True:
            try:
                return self.link.request(cmd, payload, seq=seq, **kwargs)
            except FirmwareError as exc:
                if exc.code != P.ERR_NOT_CONFIGURED:
                    raise
                reason, reopen = "the device forgot its configuration", False
            except DeviceTimeout as exc:
                reason, reopen = str(exc), False
            except LinkLost as exc:
                reason, reopen = str(exc), True
            budget = budget or RequestBudget(self.reconnect_s, self.port_name,
                                             P.COMMAND_NAMES.get(cmd, hex(cmd)))
            budget.check(reason)
            if self.recover(reason, reopen, budget.deadline):
                budget.count_reset()
                seq = self.link.next_seq()

    def recover(self, reason: str, reopen: bool, deadline: Deadline | None = None) -> bool:
        """Reconnect and restore the device's state; True if it had been reset.

        DeviceError if it is not back by `deadline` (default: `reconnect` s from now)."""
        log.warning("%s: %s; reconnecting", self.port_name, reason)
        if self.wire_log:
            self.wire_log.note(f"recovering: {reason}")
        deadline = deadline or Deadline(self.reconnect_s, f"reconnect={self.reconnect_s:g} s")
        self.hello, reset = self._until_back(reason, reopen, deadline)
        self.recoveries += 1
        return reset

    def _until_back(self, reason: str, reopen: bool, deadline: Deadline,
                    first: bool = False) -> tuple[dict[str, Any], bool]:
        """Handshake (reopening the port if needed), and if the board is new to us or was
        reset, configure it and give it back its weight codes; every step is retried
        until `deadline`. Returns (HELLO reply, whether reset)."""
        tries = 0
        self.link.deadline = deadline
        try:
            while True:
                tries += 1
                try:
                    return self._restore(reopen, first)
                except DeviceError as exc:
                    if self.link.wrong_arch:        # waiting will not fix it
                        raise WrongFirmware(f"{self.port_name}: {WRONG_ARCH_HINT}") from None
                    if isinstance(exc, WrongFirmware) or (first and not reopen
                                                          and not self._may_come_back(exc)):
                        raise
                    if deadline.left() <= 0:
                        what = "did not answer properly" if first else f"lost ({reason}) and not back"
                        raise DeviceError(f"{self.port_name} {what} after "
                                          f"{deadline.seconds - deadline.left():.1f} s and {tries} "
                                          f"tries ({deadline.what}): {exc}") from None
                    log.info("%s not back yet: %s", self.port_name, exc)
                    reopen = reopen or isinstance(exc, LinkLost) or not self.port.is_open
                    if reopen:
                        time.sleep(deadline.cap(REOPEN_PAUSE_S))
        finally:
            self.link.deadline = None

    def _restore(self, reopen: bool, first: bool) -> tuple[dict[str, Any], bool]:
        """One try: handshake, and configure and restore the held codes if it was reset."""
        if reopen:
            self._reopen()
        hello = self.handshake(drain=first or reopen)
        reset = first or hello["boot_id"] != self.hello["boot_id"] or not hello.get("configured")
        if reset:
            if not first:
                log.warning("%s was reset (boot id %08x -> %08x): configuring it again",
                            self.port_name, self.hello["boot_id"], hello["boot_id"])
            self.simulate(hello, keep=not first)
            self.configure()
        if (reset or hello.get("safe")) and not np.all(self._codes == self.bench.safe_code):
            # reset, or went safe after host silence
            self.link.request(P.SET_CODES, _u16(self._codes << self.dac_shift))
        return hello, reset

    def _may_come_back(self, exc: DeviceError) -> bool:
        """On the first connect: is this a line that answers, only badly (worth retrying)?"""
        if isinstance(exc, LinkLost) or self.boot_s > 0:
            return True
        if isinstance(exc, FirmwareError) or self.link.stats["bytes_in"] == 0:
            return False
        return "MicroPython REPL" not in str(exc)

    def stats(self) -> dict[str, Any]:
        out = {**super().stats(), **self.link.stats, "recoveries": self.recoveries}
        if self.faults.spec.any:
            out["faults_injected"] = dict(self.faults.counts)
        return out

    def status(self) -> dict[str, Any]:
        return json.loads(self.request(P.STATUS))

    def exit_to_repl(self) -> None:
        """Stop the firmware's server loop; the board falls back to the MicroPython REPL."""
        self.request(P.EXIT)

    # -- Device hooks -------------------------------------------------------------------
    def _info(self) -> DeviceInfo:
        b, h = self.bench, self.hello
        return DeviceInfo(
            backend="serial", url=self.url, firmware=h["firmware"], protocol=h["protocol"],
            dac_channels=b.dac_channels, dac_bits=b.dac.bits, adc_channels=b.adc.channels,
            adc_bits=b.adc.bits, layers=b.topology.layers,
            capabilities=("evaluate", "perturb", "onchip") + (("hidden",) if b.wiring.hidden else ()),
            details={"port": self.port_name, "recoveries": self.recoveries, **h})

    def _set_codes(self, codes: np.ndarray) -> None:
        self.request(P.SET_CODES, _u16(codes << self.dac_shift))

    def _set_channel(self, channel: int, code: int) -> None:
        self.request(P.SET_CHANNEL, struct.pack("<BH", channel, code << self.dac_shift))

    def _safe(self) -> None:
        self.request(P.SAFE)

    def _close(self) -> None:
        if self.faults.spec.any or self.recoveries:
            log.info("%s: %s", self.port_name, self.stats())
        try:
            if self.port.is_open:
                self.link.request(P.SAFE)
        except DeviceError as exc:
            log.warning("could not put %s in its safe state on close: %s", self.port_name, exc)
        finally:
            self.port.close()
            if self.wire_log:
                self.wire_log.close()

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
            rows_per = max(1, _VALUES // (len(pats) * n_read))
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
        rows_per = (P.MAX_PAYLOAD - P.SEQUENCE_HEADER) // (2 * steps * n_read)
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
            reply = self.request(P.SEQUENCE, b"".join(body) + _u16(inputs))
            overruns, late, paced = struct.unpack_from("<HII", reply, 0)
            timing["overruns"] += overruns
            timing["max_late_us"] = max(timing["max_late_us"], late)
            timing["paced_us"] += paced
            n_rows = len(chunk) + with_base
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


def dac_shift(bench: Bench) -> int:
    """Bits a bench's DAC code is shifted left by to become an MCP4728 code."""
    return max(MCP4728_BITS - bench.dac.bits, 0)


def firmware_config(bench: Bench, shift: int = 0) -> dict[str, Any]:
    """What CONFIGURE sends: the bench's wiring, converters, limits and timing, with the DAC
    as the MCP4728 sees it (codes shifted left by `shift` bits)."""
    b, pins = bench, hardware(bench).gpio_of()
    return {
        "layers": list(b.topology.layers), "weights": list(b.wiring.weights),
        "inputs": list(b.wiring.inputs), "outputs": list(b.wiring.outputs),
        "hidden": list(b.wiring.hidden),
        "dac": {"kind": b.dac.kind, "chips": b.dac.chips, "bits": b.dac.bits + shift,
                "vref": b.dac.vref, "i2c_id": b.dac.i2c_id, "sda": pins["SDA"], "scl": pins["SCL"],
                "i2c_hz": b.dac.i2c_hz},
        "adc": {"kind": b.adc.kind, "channels": b.adc.channels, "bits": b.adc.bits,
                "vref": b.adc.vref, "oversample": b.adc.oversample},
        "min_code": b.limits.min_code << shift, "max_code": b.max_code << shift,
        "safe_code": b.safe_code << shift,
        "settle_us": b.timing.settle_us, "host_timeout_ms": b.timing.host_timeout_ms,
        "feedback": len(b.recurrent.sources), "reset_pin": pins.get("RESET", -1),
        "reset_us": b.recurrent.reset_us,
        "fixed": [[ch, code] for ch, code in b.fixed_channels.items()],
    }


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
