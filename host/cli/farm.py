"""`wphil farm up N` / `wphil farm down`: a lab in a box (host/lab/farm.py) to try labgrid://.

Registered on the `wphil` group in host/cli/__init__.py. The running farm is described in
$XDG_CACHE_HOME/wphil/farm.json (coordinator, places, the pid that holds it), which
`farm down`, `--detach` and labgrid:// (its default coordinator) use.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from wphil.drivers.errors import ConfigError

START_S = 120.0      # --detach: how long the farm may take to come up


def state_file() -> Path:
    from wphil.drivers.labgrid_place import farm_state_file

    return farm_state_file()


def _running() -> dict | None:
    """The running farm's state, if its process is alive (a stale file is removed)."""
    path = state_file()
    try:
        state = json.loads(path.read_text())
        os.kill(state["pid"], 0)
        return state
    except (OSError, ValueError, KeyError):
        path.unlink(missing_ok=True)
        return None


def _show(state: dict) -> None:
    click.echo(f"coordinator {state['coordinator']}  "
               f"(export LG_COORDINATOR={state['coordinator']})")
    for p in state["places"]:
        click.echo(f"  {p['place']:8} {p['exporter']:10} unique_id {p['unique_id']}  {p['pty']}")


@click.group(name="farm")
def farm() -> None:
    """A lab in a box: a labgrid coordinator, two exporters and simulated Picos (places
    bench1..benchN), all on this machine, for labgrid://PLACE."""


@farm.command(name="up")
@click.argument("n", type=click.IntRange(1, 16))
@click.option("--bench", "bench_name", default="xor-2-2-1", show_default=True,
              help="The bench every simulated board is (built-in name or TOML file).")
@click.option("--detach", is_flag=True, help="Start it in the background and return; stop it "
              "with `wphil farm down`.")
@click.option("--paced", is_flag=True, help="The boards wait each settle time the bench file "
              "gives, as a circuit makes a Pico wait (upy://?paced=1): a bench's time is then "
              "mostly waiting, as on hardware, not the host's CPU.")
@click.option("--raw", is_flag=True, help="A ser2net per board that stays up, published as a "
              "raw-TCP NetworkSerialPort: labgrid starts nothing on acquire, and clients speak "
              "socket:// instead of RFC 2217 (faster; no modem lines or baud changes).")
def up_cmd(n: int, bench_name: str, detach: bool, paced: bool, raw: bool) -> None:
    """Start N simulated boards as labgrid places bench1..benchN; Ctrl-C stops everything."""
    running = _running()
    if running:
        raise ConfigError(f"a farm is already up (pid {running['pid']}, coordinator "
                          f"{running['coordinator']}): `wphil farm down` first")
    if detach:
        _show(_detach(n, bench_name, paced, raw))
        return
    from wphil.drivers import load_bench
    from wphil.lab import Farm

    lab = Farm(n, load_bench(bench_name), paced=paced, raw=raw)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))       # `farm down`: clean up too
    try:
        lab.start()
        state = lab.describe()
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state))
        _show(state)
        click.echo("farm up; Ctrl-C or `wphil farm down` stops it", err=True)
        while True:
            time.sleep(3600)
    finally:
        lab.stop()
        state_file().unlink(missing_ok=True)


def _detach(n: int, bench_name: str, paced: bool = False, raw: bool = False) -> dict:
    log_path = state_file().with_suffix(".log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        command = [sys.executable, "-m", "wphil", "farm", "up", str(n), "--bench", bench_name,
                   *(["--paced"] if paced else []), *(["--raw"] if raw else [])]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=log_file, start_new_session=True)
    until = time.monotonic() + START_S
    while time.monotonic() < until:
        state = _running()
        if state and state["pid"] == proc.pid:
            return state
        if proc.poll() is not None:
            raise click.ClickException(f"the farm did not start: {log_path.read_text().strip()}")
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise click.ClickException(f"the farm did not come up in {START_S:g} s (log: {log_path})")


@farm.command(name="down")
def down_cmd() -> None:
    """Stop the farm `wphil farm up` started (every process it started)."""
    state = _running()
    if state is None:
        click.echo("no farm is up")
        return
    os.kill(state["pid"], signal.SIGTERM)
    until = time.monotonic() + 30
    while time.monotonic() < until:
        try:
            os.kill(state["pid"], 0)
        except OSError:
            break
        time.sleep(0.1)
    else:
        raise click.ClickException(f"the farm (pid {state['pid']}) did not stop in 30 s")
    click.echo(f"farm down ({len(state['places'])} places stopped)")
