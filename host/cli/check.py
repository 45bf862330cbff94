"""`wphil check`: one-line bring-up self-checks of a bench (chips, zero-weight readouts, the
reset switch of a recurrent bench, rails), with the thresholds of docs/hardware/bring-up.md.

Registered on the `wphil` group in host/cli/__init__.py; exit code 1 when a check fails.
"""

from __future__ import annotations

import sys
from contextlib import closing

import click

from wphil.drivers import DEFAULT_BENCH, DEFAULT_URL, open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.instruments import RigolDP832, open_instrument
from wphil.drivers.instruments.rails import BenchPower, bench_rails
from wphil.lab import (
    check_dac_addresses,
    check_rails,
    check_reset_switch,
    check_zero_weight_readouts,
)


@click.command(name="check")
@click.option("--device", default=DEFAULT_URL, show_default=True, help="Device URL.")
@click.option("--bench", default=DEFAULT_BENCH, show_default=True, help="Bench name or file.")
@click.option("--psu", metavar="RESOURCE", default=None,
              help="Also read the rails from this supply (Rigol DP832 class, VISA resource).")
def check_cmd(device: str, bench: str, psu: str | None) -> None:
    """Check the bench: DAC chips at their addresses, readouts near VMID with every weight at
    zero, a recurrent bench's reset switch emptying the integrators, and (with --psu) the
    rails on and in range."""
    b = load_bench(bench)
    checks = []
    if psu:
        rails = bench_rails(b)
        with closing(open_instrument(RigolDP832, psu)) as supply:
            checks.append(check_rails(BenchPower(supply, rails).status()))
    with open_device(device, b) as dev:
        checks += [check_dac_addresses(dev, b), check_zero_weight_readouts(dev, b)]
        if b.is_recurrent and b.recurrent.reset_pin >= 0:
            checks.append(check_reset_switch(dev, b))
        dev.safe()
    for c in checks:
        click.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if not all(c.ok for c in checks):
        sys.exit(1)
