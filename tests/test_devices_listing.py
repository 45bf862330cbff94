"""`wphil devices`: ports listed Picos first, each Pico asked what it runs without being disturbed.

This machine has no USB serial ports, so the OS's port list is injected (pyserial's own
ListPortInfo records); the boards behind them are real: emulated Picos on ptys."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import serial
from serial.tools.list_ports_common import ListPortInfo

from tests.support.pico import EmulatedPico
from tests.test_cli import wphil
from wphil.drivers.handshake import Probe
from wphil.drivers.ports import PICO_USB_VID
from wphil.firmware.version import FIRMWARE_VERSION
from wphil.lab.devices import serial_ports, visa_resources
from wphil.lab.firmware_files import board_files, expected_digest

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def simulated_visa(monkeypatch: pytest.MonkeyPatch) -> None:
    # pyvisa-py's listing broadcasts on the LAN for instruments; tests list pyvisa-sim's
    monkeypatch.setenv("PYVISA_LIBRARY", "@sim")


def port_info(device: str, vid: int | None = None, pid: int | None = None,
              serial_number: str | None = None, description: str = "n/a") -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number, info.description = vid, pid, serial_number, description
    return info


def listing(pico_port: str) -> list[ListPortInfo]:
    return [port_info("/dev/ttyS0"),
            port_info("/dev/ttyUSB0", 0x0403, 0x6001, "A10K1234", "FT232R USB UART"),
            port_info(pico_port, PICO_USB_VID, 0x0005, "E6614C311B7A2B2F", "Board in FS mode")]


def repl_answers(port: str) -> bool:
    with serial.Serial(port, timeout=0.2) as line:
        line.write(b"6*7\r")
        deadline, said = time.monotonic() + 3, b""
        while b"42" not in said and time.monotonic() < deadline:
            said += line.read(64)
    return b"42" in said


def test_picos_come_first_marked_with_their_micropython_and_are_left_at_the_repl(
        tmp_path: Path) -> None:
    with EmulatedPico(tmp_path / "board", tmp_path) as pico:
        ports = serial_ports(lambda: listing(pico.port))
        assert [p.port for p in ports] == [pico.port, "/dev/ttyS0", "/dev/ttyUSB0"]
        first = ports[0]
        assert first.pico and first.serial_number == "E6614C311B7A2B2F"
        assert first.micropython.startswith("1.29.0") and first.firmware is None
        assert [p.status for p in ports[1:]] == ["", ""]       # not Picos: not opened
        assert pico.boots == 1 and repl_answers(pico.port)     # no reset, back at its REPL


def test_a_pico_running_the_firmware_answers_hello_and_keeps_serving(tmp_path: Path) -> None:
    root = tmp_path / "board"
    root.mkdir()
    files = board_files(compile=False)
    for f in files:
        (root / f.name).write_bytes(f.data)
    with EmulatedPico(root, tmp_path) as pico:
        (entry,) = serial_ports(lambda: listing(pico.port)[2:])
        assert entry.firmware == FIRMWARE_VERSION and entry.files == expected_digest(files)
        assert entry.status == f"wphil firmware {FIRMWARE_VERSION} (files {entry.files})"
        with serial.Serial(pico.port) as line:
            assert Probe(line).hello()["files"] == entry.files     # still serving
        assert pico.boots == 1


def test_a_busy_pico_is_reported_busy_not_taken(tmp_path: Path) -> None:
    with EmulatedPico(tmp_path / "board", tmp_path) as pico, \
            serial.Serial(pico.port, exclusive=True):
        (entry,) = serial_ports(lambda: listing(pico.port)[2:])
    assert entry.status.startswith("port busy") and entry.micropython is None


@pytest.mark.slow
def test_devices_prints_ports_and_visa_resources_as_text_and_json(tmp_path: Path) -> None:
    with EmulatedPico(tmp_path / "board", tmp_path) as pico:
        text = wphil("devices", "--port", pico.port, check=True).stdout
        found = json.loads(wphil("devices", "--port", pico.port, "--json", check=True).stdout)
    line = next(ln for ln in text.splitlines() if pico.port in ln)
    assert "given with --port" in line and "micropython 1.29.0" in line
    assert "VISA resources (pyvisa-sim):" in text and "ASRL1::INSTR" in text
    (entry,) = [p for p in found["serial"] if p["port"] == pico.port]
    assert entry["micropython"].startswith("1.29.0") and not entry["pico"]
    assert found["visa"]["backend"] == "pyvisa-sim" and "ASRL1::INSTR" in found["visa"]["resources"]


def test_without_a_visa_backend_devices_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyvisa

    def no_visa(spec: str = "") -> None:
        raise ValueError("Could not locate a VISA implementation. Install either the IVI binary "
                         "or pyvisa-py.")

    monkeypatch.setattr(pyvisa, "ResourceManager", no_visa)
    monkeypatch.setattr("wphil.lab.devices.importlib.util.find_spec", lambda name: None)
    assert visa_resources() == {"backend": None, "resources": [],
                                "error": "no VISA backend installed (pip install pyvisa-py)"}
