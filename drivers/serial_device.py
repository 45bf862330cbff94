"""The serial driver: a Pico running the wphil firmware, reached with pyserial.

URL format: PORT | serial://PORT[?option=value&...] | auto | rfc2217://HOST:PORT |
            socket://HOST:PORT | loop://
    PORT is a local port name (/dev/ttyACM0, COM3); `auto` is the first port whose USB
    vendor is the Raspberry Pi Pico's (0x2E8A). rfc2217://, socket:// and loop:// are
    pyserial's own URL handlers (a bench behind ser2net), passed through unchanged.
    Options (serial:// only): timeout=S (reply timeout, s), retries=N.

On open: the handshake (protocol and firmware versions must match this wphil), then the
bench's wiring, limits and timing are sent (CONFIGURE). Batches are split so every
request and reply fits the protocol's maximum payload.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import serial

from drivers.base import Device, DeviceInfo, Perturbation
from drivers.bench import Bench
from drivers.errors import ConfigError, DeviceError, FirmwareError
from drivers.link import Link, WireLog
from drivers.ports import find_pico
from drivers.urls import parse_options
from firmware import protocol as P
from firmware.version import FIRMWARE_VERSION

log = logging.getLogger(__name__)

_OPTIONS = {"timeout": float, "retries": int}
_VALUES = P.MAX_PAYLOAD // 2          # u16 readings per reply
TRAIN_SILENCE_S = 60.0                # longest wait for an on-chip progress frame


class SerialDevice(Device):
    """A Device over the wphil wire protocol."""

    def __init__(self, url: str, bench: Bench, wire_log: WireLog | None = None) -> None:
        super().__init__(url, bench)
        opts = self.parse_url(url)
        self.port_name = self.resolve_port(url)
        self.port = self._open_port(self.port_name)
        self.link = Link(self.port, opts.get("timeout", 2.0), opts.get("retries", 3), wire_log)
        try:
            self.hello = self.handshake()
            self.configure()
        except BaseException:
            self.port.close()
            raise

    # -- URL and port -------------------------------------------------------------------
    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any]:
        if url.startswith("serial://"):
            return parse_options(url, _OPTIONS, scheme="serial")
        return {}

    @staticmethod
    def resolve_port(url: str) -> str:
        if url == "auto":
            return find_pico()
        if url.startswith("serial://"):
            return url[len("serial://"):].split("?", 1)[0]
        return url

    def _open_port(self, name: str) -> serial.SerialBase:
        try:
            if "://" in name:
                return serial.serial_for_url(name, baudrate=115200, timeout=0.1)
            return serial.Serial(name, baudrate=115200, timeout=0.1, exclusive=True)
        except serial.SerialException as exc:
            raise DeviceError(_explain_open_error(name, exc)) from None

    # -- session ------------------------------------------------------------------------
    def handshake(self) -> dict[str, Any]:
        junk = self.link.drain()
        if junk:
            log.debug("discarded %d bytes before the handshake: %r", len(junk), junk[:80])
        hello = json.loads(self.link.request(P.HELLO, b"wphil"))
        log.info("%s: firmware %s (files %s), protocol %s, board %s, boot id %08x", self.port_name,
                 hello.get("firmware"), hello.get("files"), hello.get("protocol"),
                 hello.get("board"), hello.get("boot_id", 0))
        if hello.get("protocol") != P.PROTOCOL_VERSION or hello.get("firmware") != FIRMWARE_VERSION:
            raise DeviceError(f"{self.port_name} runs firmware {hello.get('firmware')} (protocol "
                              f"{hello.get('protocol')}); this wphil needs firmware "
                              f"{FIRMWARE_VERSION} (protocol {P.PROTOCOL_VERSION}): run `wphil flash`")
        return hello

    def configure(self) -> None:
        try:
            reply = self.link.request(P.CONFIGURE, json.dumps(firmware_config(self.bench)).encode())
        except FirmwareError as exc:
            if exc.code == P.ERR_BAD_PAYLOAD:
                raise ConfigError(f"{self.bench.source}: the firmware refuses this bench: "
                                  f"{exc.message}") from None
            raise
        log.debug("configured: %s", reply.decode())

    def request(self, cmd: int, payload: bytes = b"", **kwargs: Any) -> bytes:
        return self.link.request(cmd, payload, **kwargs)

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
            details={"port": self.port_name, **h})

    def _set_codes(self, codes: np.ndarray) -> None:
        self.request(P.SET_CODES, _u16(codes))

    def _set_channel(self, channel: int, code: int) -> None:
        self.request(P.SET_CHANNEL, struct.pack("<BH", channel, code))

    def _safe(self) -> None:
        self.request(P.SAFE)

    def _close(self) -> None:
        try:
            if self.port.is_open:
                self.request(P.SAFE)
        except DeviceError as exc:
            log.warning("could not put %s in its safe state on close: %s", self.port_name, exc)
        finally:
            self.port.close()

    def _n_read(self, hidden: bool) -> int:
        return self.bench.n_outputs + (len(self.bench.wiring.hidden) if hidden else 0)

    def _evaluate(self, inputs: np.ndarray, codes: np.ndarray, hidden: bool) -> np.ndarray:
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
                reply = self.request(P.EVALUATE, head + _u16(batch) + _u16(pats))
                out[b0:b0 + len(batch), p0:p0 + len(pats)] = _readings(reply, len(batch),
                                                                       len(pats), n_read)
        return out

    def _evaluate_perturbed(self, inputs: np.ndarray, base: np.ndarray,
                            perturbations: Sequence[Perturbation], hidden: bool) -> np.ndarray:
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
                reply = self._perturb_request(base, chunk, pats, hidden, with_base)
                n_rows = len(chunk) + with_base
                out[row:row + n_rows, p0:p0 + len(pats)] = _readings(reply, n_rows, len(pats), n_read)
                row += n_rows
        return out

    def _perturb_request(self, base: np.ndarray, perts: list, pats: np.ndarray, hidden: bool,
                         with_base: bool) -> bytes:
        flags = (P.E_HIDDEN if hidden else 0) | (0 if with_base else P.E_NO_BASE)
        body = [struct.pack("<BHH", flags, len(perts), len(pats)), _u16(base)]
        for pert in perts:
            body.append(bytes((len(pert),)) + b"".join(struct.pack("<Bh", k, d) for k, d in pert))
        body.append(_u16(pats))
        payload = b"".join(body)
        if len(payload) > P.MAX_PAYLOAD:
            raise DeviceError(f"a perturbation request of {len(payload)} bytes exceeds the "
                              f"protocol maximum {P.MAX_PAYLOAD}")
        return self.request(P.PERTURB, payload)

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
            result = json.loads(self.request(P.TRAIN, payload, timeout=TRAIN_SILENCE_S,
                                             on_event=event))
        except KeyboardInterrupt:
            log.info("interrupted: stopping on-chip training")
            self.link.port.write(P.encode(P.STOP, 0))
            raise
        self.queries += int(result.get("queries", 0))
        return result


def firmware_config(bench: Bench) -> dict[str, Any]:
    """What CONFIGURE sends: the bench's wiring, converters, limits and timing."""
    b = bench
    return {
        "layers": list(b.topology.layers), "weights": list(b.wiring.weights),
        "inputs": list(b.wiring.inputs), "outputs": list(b.wiring.outputs),
        "hidden": list(b.wiring.hidden),
        "dac": {"kind": b.dac.kind, "chips": b.dac.chips, "bits": b.dac.bits, "vref": b.dac.vref,
                "i2c_id": b.dac.i2c_id, "sda": b.dac.sda, "scl": b.dac.scl, "i2c_hz": b.dac.i2c_hz},
        "adc": {"kind": b.adc.kind, "channels": b.adc.channels, "bits": b.adc.bits,
                "vref": b.adc.vref, "oversample": b.adc.oversample},
        "min_code": b.limits.min_code, "max_code": b.max_code, "safe_code": b.safe_code,
        "settle_us": b.timing.settle_us, "host_timeout_ms": b.timing.host_timeout_ms,
    }


def _u16(codes: np.ndarray) -> bytes:
    return np.ascontiguousarray(codes, dtype="<u2").tobytes()


def _readings(reply: bytes, rows: int, patterns: int, n_read: int) -> np.ndarray:
    want = 2 * rows * patterns * n_read
    if len(reply) != want:
        raise DeviceError(f"reply has {len(reply)} bytes of readings, expected {want}")
    return np.frombuffer(reply, dtype="<u2").reshape(rows, patterns, n_read)


def _explain_open_error(name: str, exc: Exception) -> str:
    text = str(exc)
    if "Permission denied" in text or "Errno 13" in text:
        return (f"cannot open {name}: permission denied; add yourself to the serial group "
                f"(sudo usermod -aG dialout $USER, then log in again)")
    if "busy" in text.lower() or "Errno 16" in text or "exclusively lock" in text:
        return f"cannot open {name}: port busy (another program, e.g. a serial monitor, has it open)"
    if "No such file" in text or "Errno 2" in text or "could not open port" in text:
        return f"cannot open {name}: no such port (see `wphil devices`)"
    return f"cannot open {name}: {text}"
