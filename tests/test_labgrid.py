"""labgrid://PLACE on a real labgrid coordinator, exporters and ser2net (the lab in a box):
acquire, train, release; a place held by another run; release on errors and on Ctrl-C;
an exporter that dies mid-run. The CLI runs as a real process (signals, exit codes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ctrl_c import CTRL_C
from tests.support.labfarm import farm_of, holder

pytestmark = pytest.mark.slow

#: a run that does not converge on its own: it is stopped by the test
ENDLESS = ["--lr", "0.000001", "--epochs", "1000000", "--no-progress"]


@pytest.fixture(scope="module")
def farm():
    yield from farm_of(2)


def wphil(lab, *args: str, user: str = "alice", wait: bool = True,
          **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    env = dict(os.environ, LG_COORDINATOR=lab.coordinator, LG_USERNAME=user)
    cmd = [sys.executable, "-m", "wphil", *args]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kwargs)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **CTRL_C, **kwargs)


def in_process(lab, capsys, monkeypatch, *args: str, user: str = "alice") -> tuple[int, str, str]:
    """`wphil ARGS` in this process (no interpreter start-up): exit code, stdout, stderr."""
    from wphil.cli import main

    monkeypatch.setenv("LG_COORDINATOR", lab.coordinator)
    monkeypatch.setenv("LG_USERNAME", user)
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def wait_for_rows(run: Path, proc: subprocess.Popen, rows: int = 2) -> None:
    """Until the run has written `rows` epochs (it holds the place and trains)."""
    until = time.monotonic() + 60
    metrics = run / "metrics.csv"
    while time.monotonic() < until and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) > rows:
            return
        time.sleep(0.1)
    said = proc.stderr.read() if proc.poll() is not None else ""
    raise AssertionError(f"the run did not start: exit {proc.poll()} {said}")


def test_train_acquires_the_place_records_the_bench_and_releases_it(farm, tmp_path, capsys,
                                                                    monkeypatch) -> None:
    code, _, err = in_process(farm, capsys, monkeypatch, "train", "--device", "labgrid://bench2",
                              "--out", str(tmp_path / "run"), "--no-progress")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["converged"] and summary["accuracy"] == 1.0
    identity = summary["bench_identity"]
    assert identity["unique_id"] == farm.unique_ids[1] != farm.unique_ids[0]
    assert identity["place"] == "bench2" and identity["exporter"] == farm.exporter_of(1)
    assert identity["holder"].endswith("/alice")
    assert holder(farm, "bench2") is None


def test_places_are_listed_and_expanded_from_a_pattern(farm, capsys, monkeypatch) -> None:
    from wphil.drivers.labgrid_place import expand_places

    assert expand_places("labgrid://bench*", farm.coordinator) == ["labgrid://bench1",
                                                                  "labgrid://bench2"]
    assert expand_places("labgrid://bench2", farm.coordinator) == ["labgrid://bench2"]
    code, out, err = in_process(farm, capsys, monkeypatch, "devices", "--labgrid")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()[1:]]
    assert [(w[0], w[1]) for w in lines] == [("labgrid://bench1", "free"),
                                            ("labgrid://bench2", "free")]


def test_a_held_place_is_refused_naming_the_holder_or_waited_for(farm, tmp_path, capsys,
                                                                  monkeypatch) -> None:
    """Two `wphil train --device labgrid://bench1` at once; the first stopped by Ctrl-C."""
    first = wphil(farm, "train", "--device", "labgrid://bench1", "--out", str(tmp_path / "a"),
                  *ENDLESS, wait=False)
    try:
        wait_for_rows(tmp_path / "a", first)
        assert holder(farm, "bench1").endswith("/alice")
        code, _, err = in_process(farm, capsys, monkeypatch, "train", "--device",
                                  "labgrid://bench1", "--out", str(tmp_path / "b"), user="bob")
        assert code == 1 and err.count("\n") == 1, err
        assert "held by" in err and "/alice" in err and not (tmp_path / "b").exists()
        waiting = wphil(farm, "train", "--device", "labgrid://bench1?wait=60", "--out",
                        str(tmp_path / "c"), "--epochs", "3", "--no-progress", user="bob",
                        wait=False)
        time.sleep(1.0)
        assert waiting.poll() is None          # still waiting for alice's run
        first.send_signal(signal.SIGINT)       # Ctrl-C: alice's run stops and lets go
        assert first.wait(30) == 130
        _, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
    finally:
        first.kill()
    interrupted = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert interrupted["stop_reason"] == "interrupted" and interrupted["epochs"] >= 2
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["epochs"] == 3
    assert holder(farm, "bench1") is None


def test_an_error_after_acquiring_releases_the_place(farm, monkeypatch) -> None:
    from wphil.drivers import DeviceError, open_device
    from wphil.drivers.serial_device import SerialDevice

    held = []

    def board_gone(self):  # noqa: ANN001, ANN202 - the handshake fails with the place held
        self.coord.sync()
        held.append(self.coord.state("bench1").holder)
        raise DeviceError("the board did not answer")

    monkeypatch.setattr(SerialDevice, "connect", board_gone)
    monkeypatch.setenv("LG_USERNAME", "alice")
    with pytest.raises(DeviceError, match="did not answer"):
        open_device(f"labgrid://bench1?coordinator={farm.coordinator}")
    assert held[0].endswith("/alice") and holder(farm, "bench1") is None


def test_an_unknown_place_or_option_is_one_line_and_nothing_written(farm, tmp_path, capsys,
                                                                    monkeypatch) -> None:
    for url, says in (("labgrid://nosuch", "no such place"),
                      ("labgrid://bench1?speed=9", "unknown option 'speed'"),
                      ("labgrid://bench1?transport=usb", "must be rfc2217 or raw"),
                      ("labgrid://", "names one place")):
        code, _, err = in_process(farm, capsys, monkeypatch, "train", "--device", url, "--out",
                                  str(tmp_path / "run"))
        assert code == 2 and says in err and err.count("\n") == 1, err
        assert not (tmp_path / "run").exists()


def test_an_exporter_that_dies_mid_run_is_a_vanished_board(farm, tmp_path) -> None:
    """Last in this file: it takes bench2's exporter away (and starts it again after)."""
    run = wphil(farm, "train", "--device", "labgrid://bench2?reconnect=2", "--out",
                str(tmp_path / "run"), *ENDLESS, wait=False)
    try:
        wait_for_rows(tmp_path / "run", run)
        farm.kill_exporter("exporter2")
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
        farm.start_exporter("exporter2")
    assert run.returncode == 1, err
    assert "not back after" in err and "--resume" in err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["stop_reason"].startswith("error:") and summary["epochs"] >= 2
    assert holder(farm, "bench2") is None


def _group_members(pgid: int) -> list[int]:
    """Live processes in a process group (a farm process and what it started: ser2net)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_a_farm_stopped_under_a_running_client_leaves_no_process_behind() -> None:
    from wphil.drivers import open_device

    started = farm_of(1)          # held: a dropped generator would stop the farm at once
    lab = next(started)
    dev = open_device(f"labgrid://bench1?coordinator={lab.coordinator}&reconnect=2")
    try:
        groups = [p.pid for p in (lab.coordinator_proc, *lab.exporters.values())]
        groups += [b.proc.pid for b in lab.boards]
        assert len(_group_members(lab.exporters["exporter1"].pid)) == 2    # with its ser2net
        lab.stop()
        assert [pid for g in groups for pid in _group_members(g)] == []
    finally:
        dev.close()              # the coordinator is gone: the release is given up quietly
        started.close()


def test_an_unreachable_coordinator_is_one_device_error_line(tmp_path) -> None:
    from tests.support.labfarm import missing

    if missing():
        pytest.skip(missing())
    env = dict(os.environ, LG_COORDINATOR="127.0.0.1:1")
    done = subprocess.run([sys.executable, "-m", "wphil", "train", "--device", "labgrid://bench1",
                           "--out", str(tmp_path / "run")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "cannot reach the labgrid coordinator at 127.0.0.1:1" in done.stderr
    assert not (tmp_path / "run").exists()
