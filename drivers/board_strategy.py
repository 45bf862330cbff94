"""The board strategy of the serial driver: when a board is flashed, configured and configured
again, as labgrid's strategies hold a target's states apart from its drivers.

A board is ready once it has answered HELLO with this wphil's firmware and protocol versions
(another firmware: `wphil flash`, never retried) and has been sent the bench (CONFIGURE:
wiring, converters, limits, timing). After a recovery the HELLO's boot id says whether it was
reset; a reset board, or one that forgot its configuration, is configured again and given
back the weight codes it held (also after it went safe on host silence). Every step is
retried until the caller's deadline (drivers/deadlines.py).

`BoardStrategy` is a mixin of `SerialDevice` (drivers/serial_device.py): it uses its `link`,
`bench`, `dac_shift`, `port`, `port_name`, `hello`, `_codes`, `boot_s`, `reconnect_s` and
`_reopen()`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.compact import brief_hello, short_config
from wphil.drivers.deadlines import Deadline
from wphil.drivers.errors import ConfigError, DeviceError, FirmwareError
from wphil.drivers.hardware import hardware
from wphil.drivers.link import WRONG_ARCH, WRONG_ARCH_HINT, LinkLost
from wphil.drivers.sim_seeds import applies as sim_seeds_apply
from wphil.drivers.sim_seeds import sim_board_payload
from wphil.drivers.sim_tables import MCP4728_BITS
from wphil.drivers.wire_commands import _u16
from wphil.firmware import protocol as P
from wphil.firmware.version import FIRMWARE_VERSION

log = logging.getLogger(__name__)

REOPEN_PAUSE_S = 0.1               # between attempts to reopen a port that vanished


class WrongFirmware(DeviceError):
    """The board runs another firmware or protocol version: waiting will not fix it."""


class BoardStrategy:
    """Bring a board to "configured, holding our codes", on connect and after each recovery."""

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

    def connect(self) -> dict[str, Any]:
        """Handshake and configure, retried until the `reconnect` deadline like a recovery.

        Fails at once on what waiting cannot fix: another firmware, a bench it refuses,
        a MicroPython REPL, or a port that never sent a single byte back (unless it
        failed, as an unplugged one does: it is reopened until the deadline)."""
        seconds = max(self.reconnect_s, self.boot_s)
        deadline = Deadline(seconds, f"reconnect={self.reconnect_s:g} s" if seconds == self.reconnect_s
                            else f"{self.boot_s:g} s to boot")
        return self._until_back("connecting", reopen=False, deadline=deadline, first=True)[0]

    def handshake(self, drain: bool = True, brief: bool = False) -> dict[str, Any]:
        """HELLO, after discarding what the port sent unasked (boot text, a REPL) if `drain`;
        `brief`: the 9-byte reply (drivers/compact.py), details kept from the first one."""
        junk = self.link.drain() if drain else b""
        if junk:
            log.debug("discarded %d bytes before the handshake: %r", len(junk), junk[:80])
        if WRONG_ARCH in junk:      # main.py's imports failed: no firmware will ever answer
            raise WrongFirmware(f"{self.port_name}: {WRONG_ARCH_HINT}")
        hello = (brief_hello(self.link.request(P.HELLO, P.HELLO_BRIEF), getattr(self, "hello", {}))
                 if brief
                 else json.loads(self.link.request(P.HELLO, b"wphil")))
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
            config = short_config(firmware_config(self.bench, self.dac_shift))
            reply = self.link.request(P.CONFIGURE, config)
        except FirmwareError as exc:
            if exc.code == P.ERR_BAD_PAYLOAD:
                raise ConfigError(f"{self.bench.source}: the firmware refuses this bench: "
                                  f"{exc.message}") from None
            raise
        log.debug("configured: %s", reply.decode())

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
                try:        # the full HELLO on a first connect, unless it failed once
                    return self._restore(reopen, first, brief=not first or tries > 1)
                except DeviceError as exc:
                    self.port_clean = False
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

    def _restore(self, reopen: bool, first: bool, brief: bool) -> tuple[dict[str, Any], bool]:
        """One try: handshake, and configure and restore the held codes if it was reset."""
        if reopen:
            self._reopen()
        # a held bench's port given back cleanly by the last job has nothing to drain
        drain = (first and not getattr(self, "port_clean", False)) or reopen
        hello = self.handshake(drain=drain, brief=brief)
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
                "i2c_hz": b.dac.i2c_hz, "ldac_gpio": pins.get("LDAC0", -1)},
        "adc": {"kind": b.adc.kind, "channels": b.adc.channels, "bits": b.adc.bits,
                "vref": b.adc.vref, "oversample": b.adc.oversample},
        "min_code": b.limits.min_code << shift, "max_code": b.max_code << shift,
        "safe_code": b.safe_code << shift,
        "settle_us": b.timing.settle_us, "host_timeout_ms": b.timing.host_timeout_ms,
        "feedback": len(b.recurrent.sources), "reset_pin": pins.get("RESET", -1),
        "reset_us": b.recurrent.reset_us,
        "fixed": [[ch, code] for ch, code in b.fixed_channels.items()],
    }
