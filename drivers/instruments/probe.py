"""A simulated 34461A on a localhost SCPI socket, its leads on one DAC channel of a mock device.

pyvisa-sim only replays fixed strings, so a calibration against it would fit noise. This
meter answers with what a voltmeter on the mock device's DAC channel reads now
(`MockDevice.probe_volts`), through the path a real LAN meter takes: the raw SCPI socket
(the 34461A listens on port 5025), opened by pyvisa-py as `TCPIP0::127.0.0.1::PORT::SOCKET`.
So `wphil calibrate --device mock://` runs the same driver, the same pyvisa session and the
same termination and timeout handling as a real bench; only the far end of the socket is
simulated (drivers/instruments/sim34461a.py).

    with ProbeDmm(mock_device) as probe:
        dmm = open_instrument(Keysight34461A, probe.resource)
        probe.connect(3)           # move the leads to DAC channel 3
        volts = dmm.voltage_dc

The server binds an ephemeral port on 127.0.0.1 only and serves from a daemon thread;
readings are computed in that thread while the caller waits for the reply.
"""

from __future__ import annotations

import logging
import socketserver
import threading

from wphil.drivers.instruments.sim34461a import Simulated34461A
from wphil.drivers.mock import MockDevice

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class ProbeDmm:
    """A simulated DMM whose input is the DAC channel it is `connect`ed to (open leads: 0 V)."""

    def __init__(self, device: MockDevice, seed: int = 0) -> None:
        self.device = device
        self.channel: int | None = None
        self.meter = Simulated34461A(self._input_volts, seed)
        self._lock = threading.Lock()
        meter, lock = self.meter, self._lock

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for raw in self.rfile:
                    with lock:
                        reply = meter.handle(raw.decode("ascii", "replace").strip())
                    if reply is not None:
                        self.wfile.write(reply.encode("ascii") + b"\n")

        self.server = _Server((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="probe-dmm",
                                       daemon=True)
        self.thread.start()
        log.info("simulated DMM on %s:%d probing %s", HOST, self.port, device.url)

    @property
    def resource(self) -> str:
        """The VISA resource name to open it with (pyvisa-py's raw socket session)."""
        return f"TCPIP0::{HOST}::{self.port}::SOCKET@py"

    def connect(self, channel: int) -> None:
        """Move the probe leads to DAC `channel` of the device."""
        if not 0 <= channel < self.device.bench.dac_channels:
            raise ValueError(f"DAC channel {channel} does not exist: bench has channels "
                             f"0..{self.device.bench.dac_channels - 1}")
        with self._lock:
            self.channel = channel

    def _input_volts(self) -> float:
        return 0.0 if self.channel is None else self.device.probe_volts(self.channel)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ProbeDmm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
