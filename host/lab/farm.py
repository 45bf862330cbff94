"""A lab in a box: a labgrid coordinator, exporters and simulated Picos, all on localhost.

`wphil farm up N` (and the tests' `farm` fixture) start

- `labgrid-coordinator` on a free local port,
- N simulated boards: the wphil firmware under the MicroPython unix port (as upy:// runs
  it), each on its own pseudo-terminal, each with its own `machine.unique_id()`,
- two `labgrid-exporter`s (one if N is 1), which publish the boards' ptys as
  `RawSerialPort`s through ser2net, so clients see `NetworkSerialPort`s as on a real lab,
- places bench1..benchN, each matching one board's serial port,

and tear all of it down again.

ser2net batches what it reads from a serial port for a few character times before sending
it on (its `chardelay`, on by default; ser2net.yaml(5): chardelay-scale, chardelay-min
1000 us), and labgrid's exporter starts ser2net with a fixed command line that leaves it
on. Measured on this lab in a box: 3.7-6.9 ms per EVALUATE round trip with it, 0.44 ms
without (a standing pty: 0.4 ms): the wait dominates a job's time. And its TCP accepter
leaves Nagle's algorithm on, so a reply longer than one segment waits for the client's
delayed ACK: a perturbed EVALUATE took ~24 ms through ser2net against 0.5 ms on the pty;
with TCP_NODELAY an XOR run's training time fell from 1.77 s to 0.19 s. `chardelay=False`
(the default) puts a `ser2net` first on the exporters' PATH that adds `chardelay: false` to
the options block labgrid writes and turns the accepter's `tcp` into `tcp(nodelay)`
(gensio's TCP_NODELAY option); a real lab's exporter can do the same (docs/guide/lab-farm.md;
bench/farm_speed.py measures both).

Every process starts in its own session (process group),
so stopping an exporter also stops the ser2net processes it started, and nothing is left.
A board process's pty stays open in this process for the farm's life: the firmware reads
its line from the pty's master end, which fails once no slave end is open.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.labgrid_place import Coordinator
from wphil.drivers.upy import SimBoardProcess, sim_board_file

log = logging.getLogger(__name__)

#: how long the coordinator and exporters may take to come up on a busy 2-core host
START_S = 60.0
EXPORTERS = 2


def board_unique_id(index: int) -> str:
    """A simulated Pico's unique id (8 bytes as hex, as `machine.unique_id()` on the
    RP2040: the flash chip's 64-bit unique ID); distinct per bench, marked as simulated."""
    return f"5e4f{index:012x}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _await_listening(host: str, port: int, proc: subprocess.Popen, failure: str) -> None:
    """Until `proc` accepts connections on host:port; DeviceError(failure) if it ends first
    or takes longer than START_S."""
    until = time.monotonic() + START_S
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > until:
                raise DeviceError(failure) from None
            time.sleep(0.1)


def _ser2net() -> str:
    """The ser2net binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("ser2net") or ("/usr/sbin/ser2net"
                                        if os.access("/usr/sbin/ser2net", os.X_OK) else None)
    if not found:
        raise ConfigError("wphil farm needs ser2net for its exporters: "
                          "sudo apt-get install ser2net")
    return found


def _tool(name: str) -> str:
    """A labgrid command next to this Python (a venv's bin/), else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise ConfigError(f"wphil farm needs {name} (labgrid): pip install 'wphil[labgrid]'")
    return found


def stop_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop a process we started in its own session, with everything it started."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


@dataclass
class Farm:
    """The running lab in a box; `start()` brings it up, `stop()` takes all of it down."""

    n_boards: int
    bench: Bench
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wphil-farm-")))
    coordinator: str = ""
    boards: list[SimBoardProcess] = field(default_factory=list)
    unique_ids: list[str] = field(default_factory=list)
    exporters: dict[str, subprocess.Popen] = field(default_factory=dict)
    coordinator_proc: subprocess.Popen | None = None
    chardelay: bool = False      # True: ser2net as labgrid starts it (chardelay, Nagle on)
    paced: bool = False          # boards wait each settle time, as a circuit does (upy://?paced=1)
    #: True: a ser2net per board that stays up, published as a raw-TCP NetworkSerialPort
    #: (labgrid starts nothing on acquire; clients speak socket://, not RFC 2217)
    raw: bool = False
    ser2nets: dict[int, subprocess.Popen] = field(default_factory=dict)   # raw: per board
    ser2net_ports: list[int] = field(default_factory=list)

    @property
    def places(self) -> list[str]:
        return [f"bench{i + 1}" for i in range(self.n_boards)]

    def start(self) -> Farm:
        if self.n_boards < 1:
            raise ConfigError(f"wphil farm up: N must be at least 1, not {self.n_boards}")
        _ser2net()              # missing: said before anything is started
        try:
            self._start_coordinator()
            self._start_boards()
            if self.raw:
                self.ser2net_ports = [_free_port() for _ in self.boards]
            for k in range(min(EXPORTERS, self.n_boards)):
                self.start_exporter(f"exporter{k + 1}")
            self._create_places()
        except BaseException:
            self.stop()
            raise
        return self

    def exporter_of(self, index: int) -> str:
        """The exporter that publishes board `index` (0-based): round robin."""
        return f"exporter{index % min(EXPORTERS, self.n_boards) + 1}"

    def start_exporter(self, name: str) -> None:
        """Start (or start again) one exporter with its boards' RawSerialPorts (or, raw,
        the NetworkSerialPorts of their standing ser2nets, started again too if gone)."""
        mine = [i for i in range(len(self.boards)) if self.exporter_of(i) == name]
        if self.raw:
            for i in mine:
                if i not in self.ser2nets or self.ser2nets[i].poll() is not None:
                    self._start_ser2net(i)
        config = {f"bench{i + 1}": self._resource(i) for i in mine}
        path = self.workdir / f"{name}.yaml"
        path.write_text(json.dumps(config, indent=2))        # YAML is a superset of JSON
        log_file = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        env = None if self.chardelay else {**os.environ, "PATH": f"{self._no_chardelay()}"
                                                          f"{os.pathsep}{os.environ['PATH']}"}
        with log_file:
            self.exporters[name] = subprocess.Popen(
                [_tool("labgrid-exporter"), "--coordinator", self.coordinator, "--name", name,
                 "--hostname", "127.0.0.1", str(path)],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                start_new_session=True, env=env)
        log.info("farm: %s (pid %d) exports %s", name, self.exporters[name].pid, ", ".join(config))

    def kill_exporter(self, name: str) -> None:
        """Take one exporter and its ser2net processes away, as a lab machine that dies."""
        stop_group(self.exporters[name], grace=0.5)
        for i, proc in self.ser2nets.items():
            if self.exporter_of(i) == name:
                stop_group(proc, grace=0.5)

    def stop(self) -> None:
        """Stop everything this farm started; safe to call more than once."""
        for proc in [*self.exporters.values(), *self.ser2nets.values()]:
            stop_group(proc)
        if self.coordinator_proc is not None:
            stop_group(self.coordinator_proc)
        for board in self.boards:
            board.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def describe(self) -> dict:
        return {"coordinator": self.coordinator, "pid": os.getpid(),
                "places": [{"place": p, "exporter": self.exporter_of(i),
                            "unique_id": self.unique_ids[i], "pty": self.boards[i].port}
                           for i, p in enumerate(self.places)]}

    # -- internals ----------------------------------------------------------------------
    def _resource(self, index: int) -> dict:
        if not self.raw:
            return {"RawSerialPort": {"port": self.boards[index].port, "speed": 115200}}
        return {"NetworkSerialPort": {"host": "127.0.0.1", "port": self.ser2net_ports[index],
                                      "speed": 115200, "protocol": "raw"}}

    def _start_ser2net(self, index: int) -> None:
        """Board `index`'s ser2net, which stays up: raw TCP (no telnet, no RFC 2217) with
        TCP_NODELAY and no chardelay, as a lab machine runs it from its own ser2net.yaml."""
        port, number = self.ser2net_ports[index], index + 1
        cmd = [_ser2net(), "-d", "-n",
               "-Y", f"connection: &board{number}",
               "-Y", f"  accepter: tcp(nodelay),{port}",
               "-Y", f"  connector: serialdev(nouucplock=true),{self.boards[index].port},"
                     "115200n81,local",
               "-Y", "  options:", "-Y", "    chardelay: false",
               "-Y", "    max-connections: 10"]
        log_path = self.workdir / f"ser2net{number}.log"
        with open(log_path, "ab") as log_file:
            self.ser2nets[index] = subprocess.Popen(
                cmd, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=log_file, start_new_session=True)
        _await_listening("127.0.0.1", port, self.ser2nets[index],
                         f"ser2net for board {number} did not start on port {port} "
                         f"(log: {log_path})")

    def _no_chardelay(self) -> Path:
        """A folder with a `ser2net` that runs the real one with `chardelay: false` added
        to the options block labgrid's exporter ends its -Y lines with, and its accepter's
        `,tcp,` made `,tcp(nodelay),` (labgrid 26: `telnet(rfc2217,mode=server),tcp,PORT`);
        any other command line (labgrid's `-v` version check) is passed through as is."""
        real = _ser2net()
        folder = self.workdir / "bin"
        folder.mkdir(exist_ok=True)
        wrapper = folder / "ser2net"
        wrapper.write_text(
            f"#!{sys.executable}\n"
            "import os, sys\n"
            "args = sys.argv[1:]\n"
            '# labgrid ends its config with "  options:" "    max-connections: 10"\n'
            'if any("options:" in a for a in args):\n'
            '    args = [a.replace(",tcp,", ",tcp(nodelay),") for a in args]\n'
            '    args += ["-Y", "    chardelay: false"]\n'
            f"os.execv({real!r}, [{real!r}] + args)\n")
        wrapper.chmod(0o755)
        return folder

    def _start_coordinator(self) -> None:
        self.coordinator = f"127.0.0.1:{_free_port()}"
        with open(self.workdir / "coordinator.log", "ab") as log_file:
            self.coordinator_proc = subprocess.Popen(
                [_tool("labgrid-coordinator"), "--listen", self.coordinator], cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True)
        host, port = self.coordinator.rsplit(":", 1)
        _await_listening(host, int(port), self.coordinator_proc,
                         f"labgrid-coordinator did not start on {self.coordinator} "
                         f"(log: {self.workdir / 'coordinator.log'})")

    def _start_boards(self) -> None:
        for i in range(self.n_boards):
            folder = self.workdir / f"board{i + 1}"
            folder.mkdir()
            self.unique_ids.append(board_unique_id(i + 1))
            board_file = sim_board_file(self.bench, folder, {"unique_id": self.unique_ids[i],
                                                             "paced": self.paced})
            self.boards.append(SimBoardProcess(board_file, folder))

    def _create_places(self) -> None:
        """Wait for every board's NetworkSerialPort, then create its place (labgrid's API)."""
        coord = Coordinator.connect(self.coordinator)
        try:
            until = time.monotonic() + START_S
            while not self._all_exported(coord):
                if time.monotonic() > until:
                    raise DeviceError("the labgrid exporters did not publish every board within "
                                      f"{START_S:g} s (logs in {self.workdir})")
                time.sleep(0.2)
            session = coord.session
            for i, place in enumerate(self.places):
                session.args.place = place
                session.args.patterns = [f"{self.exporter_of(i)}/{place}/NetworkSerialPort"]
                session.args.comment = [f"simulated Pico {self.unique_ids[i]}"]
                coord.loop.run_until_complete(session.add_place())
                coord.loop.run_until_complete(session.add_match())
                coord.loop.run_until_complete(session.set_comment())
        finally:
            coord.close()

    def _all_exported(self, coord: Coordinator) -> bool:
        coord.sync()
        res = coord.session.resources
        return all(place in res.get(self.exporter_of(i), {}) for i, place in enumerate(self.places))
