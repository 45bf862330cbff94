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

Split as labgrid splits a driver from its strategy: this module is the wire client's port,
link and reconnection; drivers/board_strategy.py decides when the board is configured (and
configured again), drivers/wire_commands.py turns Device calls into requests that fit. A
backend that only finds the port elsewhere (labgrid://, upy://) overrides `resolve_port`,
`_open_port` or `_reopen` and nothing of the wire.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import serial
from serial.tools import list_ports

from wphil.drivers.base import Device, DeviceInfo
from wphil.drivers.bench import Bench
from wphil.drivers.board_strategy import (  # noqa: F401 - also imported from here
    BoardStrategy,
    WrongFirmware,
    firmware_config,
)
from wphil.drivers.deadlines import BAUD, Deadline, RequestBudget, reply_timeout
from wphil.drivers.errors import DeviceError, DeviceTimeout, FirmwareError
from wphil.drivers.faults import FaultSpec, FaultState, FaultyPort
from wphil.drivers.handshake import STOP_WAIT_S
from wphil.drivers.held_bench import HeldBench
from wphil.drivers.link import Link, LinkLost
from wphil.drivers.ports import explain_open_error, find_pico, usb_serial_number
from wphil.drivers.rfc2217_port import open_rfc2217
from wphil.drivers.sim_seeds import SIM_OPTIONS, parse_sim_options, sim_seeds, split_sim_options
from wphil.drivers.sim_tables import MCP4728_BITS, dac_shift  # noqa: F401 - also imported from here
from wphil.drivers.socket_port import open_socket
from wphil.drivers.urls import natural, non_negative, parse_options
from wphil.drivers.wire_commands import WireCommands
from wphil.drivers.wirelog import WireLog
from wphil.firmware import protocol as P

log = logging.getLogger(__name__)

OPTIONS: dict[str, Callable[[str], Any]] = {
    "timeout": reply_timeout, "retries": natural, "reconnect": non_negative, "faults": str,
    "fault_seed": natural, **SIM_OPTIONS}       # seed, board_seed: drivers/sim_seeds.py


class SerialDevice(BoardStrategy, WireCommands, Device):
    """A Device over the wphil wire protocol: this port and link, with the board strategy
    (drivers/board_strategy.py) and the wire commands (drivers/wire_commands.py)."""

    onchip = True
    #: on the first connect, how long a board may still be booting, on top of `reconnect`
    #: (0 for a Pico: it has booted by the time its USB port exists; a board process we just
    #: started, like upy://, may take a while on a busy host before it reads its line)
    boot_s = 0.0
    #: a farm may hold its port across jobs (drivers/held_bench.py): a standing board's
    holdable = True

    def __init__(self, url: str, bench: Bench, wire_log: str | None = None,
                 held: HeldBench | None = None) -> None:
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
        #: a farm bench held across jobs (drivers/held_bench.py): its open port, if it has one
        self.held = held
        port = held.take_port() if held is not None else None
        self.port_clean = port is not None      # given back cleanly: nothing left to drain
        if port is not None:
            self.port_name, self.usb_serial = held.port_name, held.usb_serial
            self.port = FaultyPort(port, self.faults) if self.faults.spec.any else port
        else:
            self.port_name = self.resolve_port(url)
            self.usb_serial = usb_serial_number(self.port_name)
            self.port = self._open_port(self.port_name)
            if held is not None:
                held.opens += 1
        self.link = Link(self.port, opts.get("timeout", 2.0), opts.get("retries", 3), self.wire_log)
        if held is not None and held.last_seq is not None:
            self.link.continue_from(held.last_seq)
        try:
            self.hello = self.connect()
        except BaseException:
            self.port.close()
            if held is not None:
                held.last_seq = self.link.last_seq
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
            if name.startswith("rfc2217://"):     # a network port (labgrid's ser2net)
                port = open_rfc2217(name, baudrate=BAUD, timeout=0.1)
            elif name.startswith("socket://"):    # raw TCP (a ser2net in raw mode)
                port = open_socket(name, baudrate=BAUD, timeout=0.1)
            elif "://" in name:
                port = serial.serial_for_url(name, baudrate=BAUD, timeout=0.1)
            else:
                port = serial.Serial(name, baudrate=BAUD, timeout=0.1, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            # OSError: a network port (rfc2217://, socket://) whose server went away while
            # pyserial opened it (ser2net stopped with its exporter: a broken pipe)
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

    def _safe(self) -> None:
        """SAFE, also right after an interrupted on-chip run: the firmware answers STOP, then
        finishes the pattern in flight and ends the run, answering BUSY until then
        (PROTOCOL.md); STOP is sent again and SAFE retried for up to STOP_WAIT_S."""
        deadline = time.monotonic() + STOP_WAIT_S
        while True:
            try:
                self.link.request(P.SAFE)
                return
            except FirmwareError as exc:
                if exc.code != P.ERR_BUSY or time.monotonic() > deadline:
                    raise
                log.info("%s: still training on chip: STOP, then SAFE again", self.port_name)
                self.link.request(P.STOP)
                time.sleep(0.05)

    def _close(self) -> None:
        if self.faults.spec.any or self.recoveries:
            log.info("%s: %s", self.port_name, self.stats())
        clean = False
        try:
            if self.port.is_open:
                self._safe()
                clean = not self.link.unread()
        except DeviceError as exc:
            log.warning("could not put %s in its safe state on close: %s", self.port_name, exc)
        finally:
            if self.held is not None:       # the bench's next job carries on its numbers
                self.held.last_seq = self.link.last_seq
            if clean and self.held is not None:         # open for the bench's next job
                port = self.port._port if isinstance(self.port, FaultyPort) else self.port
                self.held.keep_port(port, self.port_name, self.usb_serial)
            else:
                self.port.close()
            if self.wire_log:
                self.wire_log.close()
