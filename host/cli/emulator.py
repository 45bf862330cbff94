"""`wphil emulator`: set up the emulated Pico that rp2040:// runs.

Registered on the `wphil` group in host/cli/__init__.py.
"""

from __future__ import annotations

import click

from wphil.drivers.errors import WphilError


@click.group(name="emulator")
def emulator() -> None:
    """The emulated Pico (rp2040://): MicroPython's RP2040 build under rp2040js."""


@emulator.command(name="install")
def install_cmd() -> None:
    """Install rp2040js (npm ci, pinned by the lock file) into the user cache,
    $XDG_CACHE_HOME/wphil/rp2040js, where rp2040:// finds it."""
    from wphil.drivers.rp2040_pico import missing
    from wphil.lab import install_rp2040js

    try:
        home = install_rp2040js()
    except WphilError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rp2040js installed in {home}")
    still = missing()
    if still:
        click.echo(f"rp2040:// still {still}")
