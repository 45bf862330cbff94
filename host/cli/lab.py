"""`wphil calibrate` and `wphil power`: the bench instruments (DMM, supply) on the command line.
`wphil power` keeps the power sequence of docs/hardware/power.md (wphil.lab.power).

Registered on the `wphil` group in host/cli/__init__.py; errors reach `wphil.cli.main`,
which turns them into one line and an exit code (2: bad option, resource name or bench
file; 1: an instrument or device that does not answer or reports an error).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import click

from wphil.drivers import DEFAULT_BENCH, DEFAULT_URL, check_url, open_device
from wphil.drivers.bench import Bench
from wphil.drivers.bench_files import builtin_benches, load_bench
from wphil.drivers.caltable import ChannelLine
from wphil.drivers.errors import ConfigError, DeviceError
from wphil.drivers.hardware import MCP4728_BASE_ADDRESS, dac_pin_name
from wphil.drivers.instruments import Keysight34461A, RigolDP832, open_instrument, split_backend
from wphil.drivers.instruments.keysight34461a import NPLCS
from wphil.drivers.instruments.rails import BenchPower, RailStatus, bench_rails
from wphil.drivers.profiles import PROFILES
from wphil.drivers.urls import scheme_of
from wphil.lab import DEFAULT_POINTS, OpenDacs, calibrate, power_down, power_up, write_table

SIM_DMM = "mock"
RESOURCE_HELP = ("VISA resource, e.g. TCPIP0::192.168.1.20::5025::SOCKET or USB0::0x2A8D::0x1301::"
                 "MY123::INSTR; a suffix @py, @ivi or @sim picks the pyvisa backend (@sim: the "
                 "simulated instruments shipped with wphil).")


@click.command(name="calibrate")
@click.option("--dmm", metavar="RESOURCE", help="The DMM (Keysight 34461A class). " + RESOURCE_HELP
              + f"  '{SIM_DMM}' (the default with a mock:// device): a simulated 34461A on a "
              "localhost socket whose leads follow the mock's DAC outputs.")
@click.option("--device", default=DEFAULT_URL, show_default=True, help="Device URL.")
@click.option("--bench", default=DEFAULT_BENCH, show_default=True, help="Bench name or file.")
@click.option("--profile", type=click.Choice(PROFILES), default="default", show_default=True,
              help="Simulated non-idealities (the table records the DAC resolution it was "
              "measured at; train with the same profile).")
@click.option("--channels", default="wired", show_default=True, help="DAC channels: 'wired' "
              "(every weight and input channel), 'all', or a list such as 0-3,9.")
@click.option("--points", type=click.IntRange(3), default=DEFAULT_POINTS, show_default=True,
              help="Codes per channel, spread over 1/64..63/64 of full scale.")
@click.option("--nplc", type=click.Choice([f"{n:g}" for n in NPLCS]), default="10",
              show_default=True, help="DMM integration time (power-line cycles) per reading.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Table file; "
              "channels already in it and not measured now are kept  [default: BENCH.cal.toml "
              "beside the bench file]")
@click.option("--psu", metavar="RESOURCE", help="Power the bench's [power] rails from this "
              "supply for the sweep, and switch them off after.")
def calibrate_cmd(dmm: str | None, device: str, bench: str, profile: str, channels: str,
                  points: int, nplc: str, out: Path | None, psu: str | None) -> None:
    """Measure each DAC channel's line with a DMM and write a calibration table.

    Reference the table from the bench file ([calibration] table = "FILE") and
    `wphil train` maps weights and inputs through the measured lines.
    """
    check_url(device)
    # the table this measures may not exist yet, and must not shape the sweep: leave it out
    the_bench = load_bench(bench, profile, overrides={"calibration": {"table": ""}})
    wanted = parse_channels(channels, the_bench)
    dmm = _dmm_resource(dmm, device)
    rails = bench_rails(the_bench) if psu else None
    if psu:
        split_backend(psu)
    out = out or default_table_path(bench, profile)
    with ExitStack() as stack:
        if psu and rails:
            supply = stack.enter_context(closing(open_instrument(RigolDP832, psu)))
            stack.enter_context(BenchPower(supply, rails).powered())
        dev = stack.enter_context(open_device(device, the_bench))
        connect, resource = _route(stack, dev, dmm, len(wanted))
        meter = stack.enter_context(closing(open_instrument(Keysight34461A, resource)))
        click.echo(f"calibrating {len(wanted)} DAC channel(s) of {the_bench.name} on {device} with "
                   f"{meter.label}, {points} codes each")
        click.echo(f"{'channel':>7}  {'role':10} {'gain error':>10} {'offset':>10}  "
                   f"{'INL best-fit / end-point':>24}")
        table = calibrate(dev, meter, wanted, points, connect, float(nplc),
                          on_channel=lambda line: click.echo(_row(line, the_bench)))
    if not table.good():
        raise DeviceError(f"none of the {len(wanted)} DAC channels followed its codes (is the DMM "
                          f"connected to the DAC outputs?); {out} not written")
    written = write_table(out, table)
    _report(written, table.channels, out)


def parse_channels(spec: str, bench: Bench) -> list[int]:
    """'wired', 'all' or '0-3,9' -> channel numbers, each checked against the bench."""
    if spec == "wired":
        return sorted(set(bench.wiring.weights + bench.wiring.inputs))
    if spec == "all":              # the fixed channels (the reference) are never swept
        return [ch for ch in range(bench.dac_channels) if ch not in bench.fixed_channels]
    chosen: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            chosen += range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise ConfigError(f"--channels {spec!r}: expected 'wired', 'all' or a list such as 0-3,9"
                          ) from None
    bad = [ch for ch in chosen if not 0 <= ch < bench.dac_channels]
    if bad or not chosen:
        raise ConfigError(f"--channels {spec!r}: DAC channel {bad[0] if bad else '?'} does not "
                          f"exist: bench {bench.name} has channels 0..{bench.dac_channels - 1}")
    return sorted(set(chosen))


def default_table_path(bench: str, profile: str) -> Path:
    suffix = "" if profile == "default" else f"-{profile}"
    if bench in builtin_benches():
        return Path(f"{bench}{suffix}.cal.toml")
    path = Path(bench)
    return path.with_name(f"{path.stem}{suffix}.cal.toml")


def _dmm_resource(dmm: str | None, device: str) -> str:
    mock = scheme_of(device) == "mock"
    if dmm is None:
        if not mock:
            raise click.UsageError("--dmm RESOURCE is required with a real device")
        return SIM_DMM
    if dmm == SIM_DMM:
        if not mock:
            raise ConfigError(f"--dmm {SIM_DMM} probes a simulated device; {device} is real: "
                              "give the VISA resource of a DMM")
        return dmm
    split_backend(dmm)   # a malformed name fails here, before anything is opened
    return dmm


def _route(stack: ExitStack, dev: Any, dmm: str, n_channels: int
           ) -> tuple[Callable[[int], None], str]:
    """How the DMM leads reach each channel, and the DMM's resource name."""
    if dmm == SIM_DMM:
        from wphil.drivers.instruments.probe import ProbeDmm

        probe = stack.enter_context(ProbeDmm(dev))
        return probe.connect, probe.resource
    if n_channels > 1 and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("moving the DMM leads between channels needs a terminal; "
                               "calibrate one --channels N at a time (the table keeps the rest)")

    def connect(channel: int) -> None:
        if n_channels > 1:
            click.pause(f"Connect the DMM to DAC channel {channel} ({dmm_lead_pin(channel)}), "
                        "then press any key")
    return connect, dmm


def dmm_lead_pin(channel: int) -> str:
    """Where the DMM goes: the pin as the wiring table names it (wphil.drivers.hardware)."""
    chip = channel // 4
    return (f"{dac_pin_name(chip, 'VOUT' + 'ABCD'[channel % 4])}, the MCP4728 at "
            f"0x{MCP4728_BASE_ADDRESS + chip:02X}")


def _role(channel: int, bench: Bench) -> str:
    if channel in bench.wiring.weights:
        return f"weight {bench.wiring.weights.index(channel)}"
    if channel in bench.wiring.inputs:
        return f"input {bench.wiring.inputs.index(channel)}"
    return "unused"


def _row(line: ChannelLine, bench: Bench) -> str:
    head = f"{line.channel:>7}  {_role(line.channel, bench):10} {100 * line.gain_error:+9.3f}% "
    if not line.ok:
        return head + "     (not a line: see the warning below)"
    return (head + f"{line.offset_lsb:+6.2f} LSB  {line.max_inl_lsb:8.2f} / "
            f"{line.endpoint_inl_lsb:+.2f} LSB  ok")


def _report(written: Any, measured: list[ChannelLine], out: Path) -> None:
    good = [c for c in measured if c.ok]
    worst = max(c.max_inl_lsb for c in good)
    click.echo(f"wrote {out}: {len(written.channels)} channel(s); {len(good)} of {len(measured)} "
               f"measured now follow a line (worst best-fit INL {worst:.2f} LSB)")
    click.echo(f'use it: in the bench file, [calibration] table = "{out.name}" (path relative '
               "to the bench file)")
    for line in measured:
        if not line.ok:
            click.echo(f"wphil: warning: DAC channel {line.channel}: {line.problem}; it keeps the "
                       "nominal line", err=True)


# -- wphil power ---------------------------------------------------------------------------

@click.group(name="power")
def power() -> None:
    """Switch the bench's supply rails ([power] in the bench file) on or off, or report them."""


def _psu_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--bench", default=DEFAULT_BENCH, show_default=True,
                     help="Bench name or file whose [power] table lists the rails.")(f)
    return click.option("--psu", metavar="RESOURCE", required=True,
                        help="The supply (Rigol DP832 class). " + RESOURCE_HELP)(f)


@contextmanager
def _bench_power(psu: str, bench: str) -> Iterator[BenchPower]:
    rails = bench_rails(load_bench(bench))      # every limit checked before anything is sent
    with closing(open_instrument(RigolDP832, psu)) as supply:
        yield BenchPower(supply, rails)


def _dacs(device: str | None, bench: str) -> OpenDacs:
    if device is None:
        return None
    check_url(device)
    return lambda: open_device(device, load_bench(bench))


@power.command(name="on")
@_psu_options
@click.option("--device", default=None, help="The bench's Pico: after the rails are up its DACs "
              "are configured and set to their safe code (docs/hardware/power.md).")
def power_on(psu: str, bench: str, device: str | None) -> None:
    """Set OVP, current limit and voltage of each rail, switch them on in order, then (with
    --device) the DACs to their safe code."""
    dacs = _dacs(device, bench)
    with _bench_power(psu, bench) as rails:
        _print_status(power_up(rails, dacs))


@power.command(name="off")
@_psu_options
@click.option("--device", default=None, help="The bench's Pico: its DACs go to their safe code "
              "before the rails go down.")
@click.option("--no-dacs", is_flag=True, help="The Pico is unplugged: nothing drives the analog "
              "side, switch the rails off without it.")
def power_off(psu: str, bench: str, device: str | None, no_dacs: bool) -> None:
    """The DACs to their safe code, then the rails off in reverse order."""
    if (device is None) == (not no_dacs):
        raise click.UsageError("give --device URL (the DACs go safe before the rails go down) "
                               "or --no-dacs (the Pico is unplugged), one of them")
    dacs = _dacs(device, bench)
    with _bench_power(psu, bench) as rails:
        _print_status(power_down(rails, dacs))


@power.command(name="status")
@_psu_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def power_status(psu: str, bench: str, as_json: bool) -> None:
    """Show each rail's output state, settings and measured volts and amps."""
    with _bench_power(psu, bench) as rails:
        status = rails.status()
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in status], indent=2))
        return
    _print_status(status)


def _print_status(status: list[RailStatus]) -> None:
    click.echo(f"{'rail':8} {'CH':>2} {'output':6} {'set V':>7} {'limit A':>8} {'V':>8} "
               f"{'A':>7} mode")
    for s in status:
        click.echo(f"{s.rail.name:8} {s.rail.channel:>2} {'on' if s.enabled else 'off':6} "
                   f"{s.set_volts:7.3f} {s.set_current:8.3f} {s.measured_volts:8.4f} "
                   f"{s.measured_amps:7.4f} {s.mode}")
