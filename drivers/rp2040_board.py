"""The emulated Pico's board process: rp2040js under node, its USB serial port on a pty,
the analog network behind its converters.

    python -m drivers.rp2040_board SPEC.json

SPEC (written by `drivers/rp2040.py`) names the UF2, the boot ROM, the state folder (the
flash image, the DAC chips' EEPROM addresses) and the bench with its simulation options.
This process prints `port /dev/pts/N` when the pty exists and `ready` once the emulated
Pico's USB CDC port has enumerated, then relays bytes between the pty and node until it
is terminated or node exits.

Physics (drivers/rp2040_physics.py): when an ADC conversion needs the network's levels,
node sends the DAC codes (fd 3) and blocks until the noise-free ADC levels come back (fd 4).
They are computed here with the numpy model mock:// uses (`AnalogNetwork`, one board
instance per board_seed), so the emulated CPU is paused meanwhile: one physics, and
emulated time is unaffected. A recurrent bench's network is integrated on the emulated
clock instead: node dates DAC updates, reset edges and conversions, and each conversion
sees the state at its own instant. Read noise, drift and DNL are added per conversion in
node, as firmware/sim does under the unix port.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import tty
from pathlib import Path
from typing import Any

from wphil.drivers.bench import Bench, bench_from_dict
from wphil.drivers.hardware import ADS1115_ADDRESS, hardware
from wphil.drivers.rp2040_physics import Physics, make_physics

__all__ = ["Physics", "node_config", "main"]

log = logging.getLogger(__name__)

HARNESS = Path(__file__).with_name("rp2040js")  # the JS harness (package data)
DAC_BASE_ADDRESS = 0x60


def dac_addresses(bench: Bench, state: Path, factory: bool) -> list[int]:
    """The chips' I2C addresses as their EEPROMs hold them: saved, or fresh from the bench."""
    path = state / f"dacs-{bench.name}.json"
    if factory:
        addresses = [DAC_BASE_ADDRESS] * bench.dac.chips
        path.write_text(json.dumps(addresses))
        return addresses
    try:
        saved = json.loads(path.read_text())
        if len(saved) == bench.dac.chips:
            return saved
    except (OSError, ValueError):
        pass
    return [DAC_BASE_ADDRESS + i for i in range(bench.dac.chips)]


def node_config(spec: dict[str, Any], bench: Bench, physics: Physics) -> dict[str, Any]:
    state = Path(spec["state"])
    addresses = dac_addresses(bench, state, spec.get("factory_dacs", False))
    hw = hardware(bench)
    return {
        "uf2": spec["uf2"], "bootrom": spec["bootrom"], "flash_image": str(state / "flash.img"),
        "chips": [{"address": a, "ldac_gpio": hw.ldac_gpio(i)} for i, a in enumerate(addresses)],
        "i2c": {"bus": bench.dac.i2c_id, "sda": hw.signal("SDA").gpio,
                "scl": hw.signal("SCL").gpio},
        "ads1115": ADS1115_ADDRESS if bench.adc.kind == "ads1115" else None,
        "adc": physics.node_config(spec),
        # recurrent benches: node dates DAC updates, reset edges and conversions
        "recurrent": {"reset_gpio": bench.recurrent.reset_pin, "i2c_hz": bench.dac.i2c_hz}
        if bench.is_recurrent else None,
    }


class Relay:
    """One select loop: pty <-> node's stdin/stdout, node's requests -> the physics."""

    def __init__(self, node: subprocess.Popen, master: int, events: int, replies: int,
                 physics: Physics, state: Path, bench: Bench) -> None:
        self.node, self.master, self.events, self.replies = node, master, events, replies
        self.physics, self.state, self.bench = physics, state, bench
        self.to_node = bytearray()
        self.to_host = bytearray()
        self.lines = b""
        self.parent = os.getppid()
        self.sel = selectors.DefaultSelector()
        for fd in (master, node.stdout.fileno(), events):
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ)
        os.set_blocking(node.stdin.fileno(), False)

    def run(self) -> None:
        while self.node.poll() is None:
            if os.getppid() != self.parent:   # whoever started the board is gone (even SIGKILL)
                log.warning("rp2040 board: its parent (pid %d) is gone; stopping", self.parent)
                return
            self._watch_writes()
            for key, mask in self.sel.select(0.5):
                fd = key.fd
                if mask & selectors.EVENT_WRITE:
                    self._flush(fd)
                if mask & selectors.EVENT_READ:
                    self._read(fd)

    def _watch_writes(self) -> None:
        """Watch an output for room only while bytes wait for it."""
        self.sel.modify(self.master, selectors.EVENT_READ
                        | (selectors.EVENT_WRITE if self.to_host else 0))
        stdin, registered = self.node.stdin.fileno(), self.sel.get_map()
        if self.to_node and stdin not in registered:
            self.sel.register(stdin, selectors.EVENT_WRITE)
        elif not self.to_node and stdin in registered:
            self.sel.unregister(stdin)

    def _flush(self, fd: int) -> None:
        buf = self.to_host if fd == self.master else self.to_node
        try:
            n = os.write(fd, buf)
        except BlockingIOError:
            return
        except OSError:          # EIO: the host's end is not open right now
            n = len(buf) if fd == self.master else 0
        del buf[:n]

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:          # the pty master reads EIO while no slave is open
            return
        if fd == self.master:
            self.to_node += data
        elif fd == self.events:
            self._events(data)
        elif data:
            self.to_host += data

    def _events(self, data: bytes) -> None:
        self.lines += data
        *lines, self.lines = self.lines.split(b"\n")
        for raw in lines:
            kind, _, rest = raw.decode().partition(" ")
            log.debug("node: %s", raw)
            if kind == "L":
                self._reply(self.physics.levels([int(c) for c in rest.split()]))
            elif kind == "S":
                self._reply(self.physics.sample(float(rest)))
            elif kind == "D":
                t_ns, *codes = rest.split()
                self.physics.dac(float(t_ns), [int(c) for c in codes])
            elif kind == "R":
                t_ns, level = rest.split()
                self.physics.reset(float(t_ns), level == "1")
            elif kind == "usb":
                print("ready", flush=True)
            elif kind == "addr":
                self._save_address(*map(int, rest.split()))
            else:
                log.info("node: %s", raw.decode(errors="replace"))

    def _reply(self, levels: list[float]) -> None:
        os.write(self.replies, (" ".join(f"{v:.6f}" for v in levels) + "\n").encode())

    def _save_address(self, chip: int, address: int) -> None:
        path = self.state / f"dacs-{self.bench.name}.json"
        addresses = dac_addresses(self.bench, self.state, False)
        addresses[chip] = address
        path.write_text(json.dumps(addresses))
        log.info("MCP4728 #%d now answers at 0x%02x", chip, address)


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    bench = bench_from_dict(spec["bench"], source=spec.get("bench_source", "<bench>"))
    state = Path(spec["state"])
    state.mkdir(parents=True, exist_ok=True)
    physics = make_physics(bench, spec)
    config_path = state / "node-config.json"
    config_path.write_text(json.dumps(node_config(spec, bench, physics)))
    master, slave = os.openpty()
    tty.setraw(slave)
    events_r, events_w = os.pipe()
    replies_r, replies_w = os.pipe()
    node = subprocess.Popen(
        [spec["node"], str(HARNESS / "pico.mjs"), str(config_path)], cwd=HARNESS,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(events_w, replies_r),
        env=dict(os.environ, WPHIL_EVENTS_FD=str(events_w), WPHIL_REPLIES_FD=str(replies_r),
                 **({"WPHIL_RP2040JS": spec["rp2040js"]} if spec.get("rp2040js") else {})))
    os.close(events_w)
    os.close(replies_r)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # -> finally: node saves its flash
    print("port", os.ttyname(slave), flush=True)
    try:
        Relay(node, master, events_r, replies_w, physics, state, bench).run()
    finally:
        _stop(node)


def _stop(node: subprocess.Popen) -> None:
    if node.poll() is None:
        node.terminate()          # node saves the flash image on SIGTERM
        try:
            node.wait(5)
        except subprocess.TimeoutExpired:
            node.kill()


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("WPHIL_RP2040_LOG", "WARNING"),
                        format="rp2040 board: %(message)s", stream=sys.stderr)
    main(sys.argv[1])
