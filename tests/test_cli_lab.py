"""`wphil calibrate` and `wphil power`, run as users run them: in a subprocess."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.test_cli import ROOT, wphil

SIM_PSU = "USB0::0x1AB1::0x0E11::DP8C000001::INSTR@sim"


def one_error_line(proc, code: int, message: str) -> None:  # noqa: ANN001
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_calibrate_then_train_with_the_table_on_the_harsh_bench(tmp_path: Path) -> None:
    bench = tmp_path / "xor.toml"
    bench.write_text((ROOT / "bench" / "xor-2-2-1.toml").read_text().replace(
        "[calibration]\n", '[calibration]\ntable = "xor-harsh.cal.toml"\n'))
    proc = wphil("calibrate", "--bench", str(bench), "--profile", "harsh", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "xor-harsh.cal.toml").is_file()      # the default --out, beside the bench
    assert "10 of 11 measured now follow a line" in proc.stdout
    # the stuck weight channel of the harsh profile is the one warning
    one_error_line(proc, 0, "wphil: warning: DAC channel 0: output does not follow the code")
    run = tmp_path / "run"
    wphil("train", "--bench", str(bench), "--profile", "harsh", "--out", str(run), "--epochs", "3",
          "--no-progress", check=True)
    config = (run / "config.toml").read_text()
    assert "[dac_calibration]" in config and "WPHIL-SIM" in config


@pytest.mark.parametrize("args,message", [
    (["calibrate", "--dmm", "nonsense"], "bad VISA resource name 'nonsense'"),
    (["calibrate", "--dmm", "TCPIP0::x::5025::SOCKET@visa"], "unknown VISA backend @visa"),
    (["calibrate", "--channels", "3-12"], "DAC channel 12 does not exist: bench xor-2-2-1 has "
     "channels 0..11"),
    (["power", "on", "--psu", "GPIB0::::INSTR@sim"], "bad VISA resource name"),
    (["power", "off", "--psu", "TCPIP0::psu.sim::5555::SOCKET@sim@sim", "--no-dacs"],
     "bad VISA resource"),
    (["power", "off", "--psu", SIM_PSU], "give --device URL"),
    (["power", "status", "--psu", SIM_PSU, "--bench",
      str(ROOT / "tests" / "support" / "no-rails.toml")], "[power] lists no rails"),
])
@pytest.mark.slow
def test_bad_option_or_resource_is_one_line_and_exit_2(tmp_path: Path, args: list[str],
                                                       message: str) -> None:
    one_error_line(wphil(*args, cwd=tmp_path), 2, message)
    assert not list(tmp_path.iterdir())          # nothing written


@pytest.mark.parametrize("args,message", [
    (["calibrate", "--dmm", "TCPIP0::dmm-error.sim::5025::SOCKET@sim", "--channels", "3"],
     'DMM 34461A at TCPIP0::dmm-error.sim::5025::SOCKET@sim reported an error: -113'),
    (["calibrate", "--dmm", "TCPIP0::dmm.sim::5025::SOCKET@sim", "--channels", "3"],
     "none of the 1 DAC channels followed its codes"),     # pyvisa-sim: a fixed reading
    (["power", "on", "--psu", "TCPIP0::psu-short.sim::5555::SOCKET@sim"],
     "rail VA+ (CH1) is in current limit at 0.1 A: a short or overload; rails switched off"),
])
@pytest.mark.slow
def test_instrument_errors_are_one_line_and_exit_1(tmp_path: Path, args: list[str],
                                                   message: str) -> None:
    proc = wphil(*args, cwd=tmp_path)
    one_error_line(proc, 1, message)
    assert proc.stderr.startswith("wphil: device error: ")
    assert not list(tmp_path.glob("*.toml"))


def test_an_instrument_that_refuses_the_connection_is_exit_1(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = wphil("power", "status", "--psu", f"TCPIP0::127.0.0.1::{port}::SOCKET@py", cwd=tmp_path)
    one_error_line(proc, 1, "Connection refused")


@pytest.mark.slow
def test_power_on_off_and_status_on_the_simulated_supply() -> None:
    on = wphil("power", "on", "--psu", SIM_PSU, check=True).stdout.splitlines()
    assert on[0].split() == ["rail", "CH", "output", "set", "V", "limit", "A", "V", "A", "mode"]
    assert on[1].split()[:5] == ["VA+", "1", "on", "12.000", "0.100"]
    off = wphil("power", "off", "--psu", SIM_PSU, "--no-dacs", check=True).stdout.splitlines()
    assert off[1].split()[:3] == ["VA+", "1", "off"]    # a fresh pyvisa-sim per process
    status = json.loads(wphil("power", "status", "--psu", SIM_PSU, "--json", check=True).stdout)
    assert [(s["rail"], s["channel"], s["max_volts"]) for s in status] == [
        ("VA+", 1, 12.5), ("VA-", 2, 12.5)]


def test_power_on_and_off_with_the_bench_device_sets_the_dacs_safe() -> None:
    on = wphil("power", "on", "--psu", SIM_PSU, "--device", "mock://", check=True)
    assert on.stdout.splitlines()[1].split()[:3] == ["VA+", "1", "on"]
    off = wphil("power", "off", "--psu", SIM_PSU, "--device", "mock://", check=True)
    assert off.stdout.splitlines()[2].split()[:3] == ["VA-", "2", "off"]
