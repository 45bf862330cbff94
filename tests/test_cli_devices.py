"""`wphil` against devices other than the mock: the firmware in the loop, and bad ports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.test_cli import wphil
from wphil.firmware.version import FIRMWARE_VERSION


@pytest.mark.parametrize("extra", [[], ["--onchip"]], ids=["host-driven", "onchip"])
@pytest.mark.slow
def test_xor_trains_through_the_firmware_under_micropython(tmp_path: Path, extra: list) -> None:
    run = tmp_path / "run"
    proc = wphil("train", "--device", "upy://", "--out", str(run), *extra, check=True)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["converged"] and summary["accuracy"] == 1.0, proc.stdout
    assert summary["firmware"] == FIRMWARE_VERSION and summary["device"] == "upy://"
    with open(run / "metrics.csv") as f:
        epochs = [int(r["epoch"]) for r in csv.DictReader(f)]
    assert epochs == list(range(1, summary["epochs"] + 1))
    assert {p.name for p in run.iterdir()} >= {"config.toml", "checkpoint.npz", "weights.npz"}
    again = json.loads(wphil("eval", str(run), "--json", check=True).stdout)
    assert again["accuracy"] == 1.0 and again["device"] == "upy://"


@pytest.mark.slow
def test_info_prints_the_handshake_as_json() -> None:
    info = json.loads(wphil("info", "--device", "upy://", "--json", check=True).stdout)
    assert info["backend"] == "upy" and info["firmware"] == FIRMWARE_VERSION
    assert info["details"]["dac_addresses"] == [96, 97, 98] and "boot_id" in info["details"]


@pytest.mark.parametrize("device,code,message", [
    ("/dev/ttyNOPE0", 1, "cannot open /dev/ttyNOPE0: no such port"),
    ("auto", 1, "no Raspberry Pi Pico found"),
    ("upy://?speed=9", 2, "unknown option 'speed' for upy://"),
    ("serial:///dev/ttyNOPE0?timeout=x", 2, "option timeout='x' must be a number >= 0.048"),
])
@pytest.mark.slow
def test_unreachable_or_misnamed_devices_give_one_line(tmp_path: Path, device: str, code: int,
                                                       message: str) -> None:
    proc = wphil("train", "--device", device, "--out", str(tmp_path / "run"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1 and message in lines[0], proc.stderr
