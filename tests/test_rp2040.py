"""The firmware on MicroPython's real RP2040 build: an emulated Pico (rp2040js under node) with
the bench's MCP4728s on I2C0 and the numpy network behind its ADC (drivers/rp2040*.py).

One board is booted per session and shared (boot and first flash take ~15 s); it starts blank,
so the first thing done to it is `wphil flash`, which the flash test then checks. Skipped with
one line when node, rp2040js (npm ci) or the MicroPython image are missing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import serial
from click.testing import CliRunner

from tests.test_cli import wphil
from wphil.cli import cli
from wphil.drivers import load_bench, open_device, rp2040
from wphil.drivers.analog import AnalogNetwork
from wphil.drivers.handshake import await_hello
from wphil.drivers.rp2040_pico import (
    EmulatedPico,
    board_spec,
    find_uf2,
    firmware_source_hash,
    missing,
)
from wphil.firmware import protocol as P
from wphil.firmware.version import FIRMWARE_VERSION
from wphil.lab.dac_address import _raw_repl, address_bits_check, program_address, verify_addresses
from wphil.lab.firmware_files import board_files, expected_digest
from wphil.lab.flash import flash, open_serial

REASON = missing()
# slow as a whole: every test shares one emulated Pico, whose boot and first flash take ~15 s
pytestmark = [pytest.mark.skipif(REASON is not None, reason=f"rp2040://: {REASON}"),
              pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    """The session's board, brought up as a new bench is: a blank Pico, flashed through the
    real path, and three MCP4728s fresh from the factory (all at 0x60) given their
    addresses with the address command. The tests below check each step's record."""
    state = tmp_path_factory.mktemp("rp2040")
    bench = load_bench("xor-2-2-1")
    spec = board_spec(bench, {"dacs": "factory"}, state, find_uf2())
    with EmulatedPico(spec).start() as pico:
        pico.first_flash = flash(pico.port)
        pico.factory_bits = verify_addresses(pico.port, bench)
        pico.old_sequence = _run_old_address_sequence(pico.port)
        pico.addressed = [program_address(pico.port, bench, 1, 0x61),
                          program_address(pico.port, bench, 2, 0x62)]
        pico.verified = verify_addresses(pico.port, bench)
        (state / "flashed").write_text(firmware_source_hash())
        rp2040.share(pico)
        try:
            yield pico
        finally:
            rp2040.unshare(pico)


# The address command as the firmware sent it before DS22187E Fig. 5-11 was followed: LDAC
# (chip 0's, GP6) dropped while SCL is high in the 8th clock of byte 2 (breaks note 2a).
_OLD_SEQUENCE = """\
import machine, dac_address
b = dac_address._Bus(4, 5)
ldac = machine.Pin(6, machine.Pin.OUT, value=1)
def w(byte, drop=False):
    for i in range(7, -1, -1):
        b.sda.value((byte >> i) & 1)
        b.scl.value(1)
        if drop and i == 0:
            ldac.value(0)
        b.scl.value(0)
    b.sda.value(1)
    b.scl.value(1)
    a = b.sda.value() == 0
    b.scl.value(0)
    return a
b.start()
acks = [w(0xC0), w(0x61, True), w(0x6A), w(0x6B)]
b.stop()
ldac.init(machine.Pin.IN)
print(repr([acks, machine.I2C(0, sda=machine.Pin(4), scl=machine.Pin(5), freq=100000).scan()]))
"""


def _run_old_address_sequence(port: str) -> list:
    with _raw_repl(port) as repl:
        try:
            return repl.evaluate(_OLD_SEQUENCE, "the old address sequence")
        finally:
            repl.soft_reset()


def url(board: EmulatedPico, extra: str = "") -> str:
    return f"rp2040://?state={board.state}{extra}"


@pytest.mark.slow
def test_flash_onto_a_blank_emulated_pico_writes_verifies_boots_and_again_writes_nothing(
        board: EmulatedPico) -> None:
    first = board.first_flash
    files = board_files(arch="armv6m")
    assert first.arch == "armv6m" and first.board.mpy >> 10 == 4     # MP_NATIVE_ARCH_ARMV6M
    assert first.hello["mpy"] == first.board.mpy
    assert first.previous is None                          # blank: no firmware answered
    assert sorted(c.name for c in first.changes) == sorted(f.name for f in files)
    assert first.hello["files"] == expected_digest(files)
    assert first.hello["platform"] == "rp2" and first.hello["firmware"] == FIRMWARE_VERSION
    proc = wphil("flash", "--port", board.port, check=True)
    assert "nothing to write" in proc.stdout, proc.stdout
    assert f"firmware {FIRMWARE_VERSION} answers after reset" in proc.stdout


@pytest.mark.slow
def test_flash_compiles_native_code_for_armv6m_and_the_rp2040_build_runs_it(
        board: EmulatedPico, tmp_path: Path) -> None:
    from tests.test_flash import header_arch, native_firmware
    try:
        result = flash(board.port, source=native_firmware(tmp_path))
        assert result.arch == "armv6m" and [c.name for c in result.changes] == ["version.mpy"]
        assert result.hello["firmware"] == FIRMWARE_VERSION     # it booted: the code ran
        with _raw_repl(board.port) as repl:                      # the header as it landed
            try:
                head = repl.evaluate("print(repr(open('version.mpy', 'rb').read(4)))", "header")
            finally:
                repl.soft_reset()
        with open_serial(board.port) as port:                  # booted again before re-flashing
            await_hello(port, 60)
        assert header_arch(head) == 4                            # armv6m
    finally:
        flash(board.port)                                       # the session's firmware back


def test_the_flashed_filesystem_survives_a_restart_of_the_emulator(board: EmulatedPico,
                                                                   tmp_path: Path) -> None:
    image = board.state / "flash.img"
    assert image.stat().st_size == 2 * 1024 * 1024
    assert b"server.mpy" in image.read_bytes()             # littlefs holds the flashed files


def test_the_emulated_converters_follow_the_numpy_model_of_the_same_board(
        board: EmulatedPico) -> None:
    bench = load_bench("xor-2-2-1")
    net = AnalogNetwork(bench, read_noise_volts=0.0)
    rng = np.random.default_rng(5)
    codes = rng.integers(1200, 2900, size=(3, bench.n_weights))
    inputs = np.array([[0, 4095], [4095, 0], [2048, 2048]])
    with open_device(url(board), bench) as dev:
        assert dev.info().details["dac_addresses"] == [0x60, 0x61, 0x62]
        got = dev.evaluate(inputs, codes, hidden=True)
    want = net.read(codes, inputs, hidden=True)
    # the board adds read noise (averaged over 4 samples): a few LSB, never a model mismatch
    assert np.abs(got.astype(int) - want).max() <= 8
    assert np.abs(got.astype(int) - want).mean() < 2.0


def _frame_reply(port: serial.Serial, seq: int, seconds: float) -> tuple[int, int, bytes] | None:
    """The reply to `seq` (late replies to the driver's own requests may come first)."""
    decoder, deadline = P.FrameDecoder(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        for frame in decoder.feed(port.read(256)):
            if frame[0] != "crc" and frame[2] == seq:
                return frame[0], frame[2], frame[3]
    return None


@pytest.mark.slow
def test_a_truncated_frame_then_silence_gets_an_error_reply_not_the_watchdog(
        board: EmulatedPico) -> None:
    with open_device(url(board), load_bench("xor-2-2-1")):
        pass                                              # the firmware serves
    ping = P.encode(P.PING, 4242, bytes(range(40)))
    with serial.Serial(board.port, timeout=0.1) as port:
        port.reset_input_buffer()
        port.write(ping[:P.HEADER_SIZE + 7])              # header and 7 of 44 body bytes
        started = time.monotonic()
        reply = _frame_reply(port, 4242, 5.0)
        assert reply is not None, "no reply to a truncated frame"
        cmd, seq, payload = reply
        assert (cmd, seq, payload[0]) == (P.PING, 4242, P.ERR_TRUNCATED)
        assert time.monotonic() - started < 4.0
        port.write(ping[:5])                              # a partial header: dropped silently
        time.sleep(1.5)
        port.write(ping)                                  # and the next frame is served
        assert _frame_reply(port, 4242, 5.0) == (P.PING, 4242, bytes(range(40)))


def test_factory_fresh_dacs_all_at_0x60_are_given_0x60_0x61_0x62_by_the_address_command(
        board: EmulatedPico) -> None:
    first, second = board.addressed
    assert first.hello["dac_addresses"] == [0x60, 0x61]      # chips 0 and 2 still share 0x60
    assert (second.ldac_gpio, second.found) == (8, [0x60, 0x61, 0x62])
    saved = json.loads((board.state / "dacs-xor-2-2-1.json").read_text())
    assert saved == [0x60, 0x61, 0x62]                        # in the chips' EEPROMs


@pytest.mark.slow
def test_the_emulated_mcp4728_refuses_the_old_ldac_placement_and_takes_the_new_one(
        board: EmulatedPico) -> None:
    acks, scan = board.old_sequence
    assert acks[:2] == [True, True] and acks[2] is False         # byte 3 NACKed (note 2c)
    assert scan == [0x60]                                          # nothing moved to 0x62
    first, second = board.addressed
    assert first.busy_ms >= 50 and second.busy_ms >= 50            # RDY/BSY low, then high


@pytest.mark.slow
def test_verify_reads_each_chips_address_bits_by_its_ldac_wire(board: EmulatedPico) -> None:
    factory = board.factory_bits                                   # all three at 0x60
    assert [(c.eeprom, c.register) for c in factory] == [(0, 0)] * 3
    assert [c.ok for c in factory] == [True, False, False]
    check = address_bits_check(factory)
    assert not check.ok and "--chip 1 --from 0x60 --to 0x61" in check.detail
    assert all(c.ok for c in board.verified) and address_bits_check(board.verified).ok


@pytest.mark.slow
def test_the_address_command_refuses_an_address_another_chip_answers(board: EmulatedPico) -> None:
    proc = wphil("dac-address", "--port", board.port, "--chip", "2", "--from", "0x62",
                 "--to", "0x61")
    assert proc.returncode == 1
    assert "0x61 is taken by another chip: the two would collide" in proc.stderr
    saved = json.loads((board.state / "dacs-xor-2-2-1.json").read_text())
    assert saved == [0x60, 0x61, 0x62]
    with open_device(url(board), load_bench("xor-2-2-1")) as dev:     # and it serves again
        assert dev.info().details["dac_addresses"] == [0x60, 0x61, 0x62]


@pytest.mark.slow
def test_xor_trains_to_100_percent_host_driven_on_the_addressed_bench(board: EmulatedPico,
                                                                      tmp_path: Path) -> None:
    # in this process, so rp2040:// finds the session's running board
    result = CliRunner().invoke(cli, ["train", "--device", url(board), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "accuracy 100.0%" in result.output, result.output


@pytest.mark.slow
def test_on_chip_training_runs_the_firmwares_loop_on_the_rp2040_build(board: EmulatedPico,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "onchip"
    result = CliRunner().invoke(cli, ["train", "--device", url(board), "--onchip", "--epochs", "4",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 4 and summary["stop_reason"] == "max_epochs"
    # each epoch: 4 patterns x (9 perturbed + 1 base) passes, then the set evaluated once
    assert summary["queries"] == 4 * (4 * 10 + 4)


def test_a_board_whose_starter_dies_even_by_sigkill_stops_itself_and_its_emulator(
        tmp_path: Path) -> None:
    """No emulated Pico outlives the process that started it: a `wphil train` killed with
    SIGKILL (no cleanup runs) must not leave node running the emulator at full speed."""
    import os
    import signal
    import subprocess
    import sys

    spec = board_spec(load_bench("xor-2-2-1"), {}, tmp_path, find_uf2())
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    starter = subprocess.Popen(
        ["sh", "-c", f'"{sys.executable}" -m wphil.drivers.rp2040_board "{tmp_path}/spec.json"'
                     ' & echo "board $!"; wait'],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    board_pid = int(starter.stdout.readline().split()[1])
    assert starter.stdout.readline().startswith("port")       # the relay loop is running
    nodes = [int(p) for p in subprocess.run(["pgrep", "-P", str(board_pid)], text=True,
                                            capture_output=True).stdout.split()]
    assert nodes, "the board started no emulator"
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait(5)
    deadline = time.monotonic() + 15
    alive = [board_pid, *nodes]
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]
        time.sleep(0.1)
    assert not alive, f"still running after their starter was killed: {alive}"
