"""`wphil flash`, `wphil dac-address` and `wphil devices`: the commands that deal with
boards, not benches.

Registered on the main `wphil` group in host/cli/__init__.py. Like the rest of the CLI,
only this module prints; failures are raised and become one line and an exit code there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import click
from tqdm import tqdm

from wphil.drivers import DEFAULT_BENCH, load_bench
from wphil.lab import (
    Change,
    FlashResult,
    address_bits_check,
    flash,
    program_address,
    verify_addresses,
)


@contextlib.contextmanager
def board_port(port: str, bench: str = DEFAULT_BENCH, flashing: bool = False) -> Iterator[str]:
    """A port name; rp2040:// boots the emulated Pico it names for the command's duration
    (`flashing`: a block that ends without an error has flashed this wphil's firmware)."""
    if not port.startswith("rp2040://"):
        yield port
        return
    from wphil.drivers.rp2040 import emulated_port

    with emulated_port(port, load_bench(bench), flashing=flashing) as name:
        yield name


@click.command(name="flash")
@click.option("--port", default="auto", show_default=True,
              help="Serial port of the board (/dev/ttyACM0, COM3, serial://PORT, "
              "socket://HOST:PORT), auto: the first Raspberry Pi Pico, or rp2040://[?board=NAME]: "
              "an emulated Pico.")
@click.option("--no-compile", is_flag=True, help="Copy the .py sources instead of compiling "
              "them with mpy-cross (for a MicroPython too old or too new for the .mpy files).")
@click.option("--dry-run", is_flag=True, help="Only list what would change; write nothing.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def flash_cmd(port: str, no_compile: bool, dry_run: bool, no_progress: bool) -> None:
    """Put the wphil firmware on a MicroPython board and check it answers.

    Writes only the files whose SHA-256 on the board differs, verifies every file after
    writing, resets the board and does the protocol handshake. A board running the firmware
    is sent back to its REPL first.
    """
    bar: tqdm | None = None

    def on_plan(result: FlashResult) -> None:
        nonlocal bar
        _print_board(result)
        if dry_run:
            return
        bar = tqdm(total=len(result.changes), unit="file", desc="flash", leave=True,
                   disable=True if no_progress or not result.changes else None)

    def on_change(change: Change) -> None:
        bar.set_postfix_str(change.name, refresh=False)
        bar.update()

    try:
        with board_port(port, flashing=not dry_run) as name:
            result = flash(name, compile=not no_compile, dry_run=dry_run, on_plan=on_plan,
                           on_change=on_change)
    finally:
        if bar is not None:
            bar.close()
    if dry_run:
        _print_plan(result)
        return
    _print_done(result)


def _print_board(result: FlashResult) -> None:
    board = result.board
    running = (f"firmware {result.previous.get('firmware')} (files {result.previous.get('files')})"
               " was running: sent EXIT" if result.previous else "no wphil firmware running")
    click.echo(f"{result.port}: MicroPython {board.version} on {board.machine or board.platform}, "
               f".mpy v{board.mpy_version}, {_arch_note(result)}; {running}")


def _arch_note(result: FlashResult) -> str:
    if result.arch:
        return f"compiled for {result.arch}"
    if any(c.name.endswith(".mpy") for c in result.changes) or \
            any(n.endswith(".mpy") for n in result.unchanged):
        return "bytecode without an architecture (the board has no native emitter)"
    return "sources (not compiled)"


def _print_plan(result: FlashResult) -> None:
    for change in result.changes:
        size = f"{change.size:7,} bytes" if change.action == "write" else " " * 13
        click.echo(f"  would {change.action:6} {change.name:15} {size}  ({change.reason})")
    click.echo(f"dry run: {len(result.changes)} change(s), {len(result.unchanged)} file(s) "
               "already match; nothing written")


def _print_done(result: FlashResult) -> None:
    written = [c for c in result.changes if c.action == "write"]
    removed = [c for c in result.changes if c.action == "remove"]
    total = len(result.unchanged) + len(written)
    if written or removed:
        click.echo(f"wrote {len(written)} file(s) ({sum(c.size for c in written):,} bytes)"
                   + (f", removed {', '.join(c.name for c in removed)}" if removed else "")
                   + f", {len(result.unchanged)} unchanged; all {total} verified by SHA-256")
    else:
        click.echo(f"nothing to write: all {total} files match by SHA-256")
    click.echo(f"{result.port}: firmware {result.hello['firmware']} answers after reset, "
               f"files {result.hello['files']} (as flashed)")


def _address(value: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an address (0x60..0x67)") from None


@click.command(name="dac-address")
@click.option("--port", default="auto", show_default=True,
              help="The board: a serial port, auto, or rp2040://[?board=NAME&dacs=factory].")
@click.option("--bench", default=DEFAULT_BENCH, show_default=True,
              help="Bench name or file: its I2C pins and LDAC wiring ([dac] ldac_gpio).")
@click.option("--chip", type=int, default=None, help="Which MCP4728 (0 = first), by its "
              "LDAC wire: chip k's LDAC is on GP(ldac_gpio + k).")
@click.option("--to", "new", type=_address, default=None, help="Its new address, e.g. 0x61.")
@click.option("--from", "old", type=_address, default="0x60", show_default=True,
              help="Its address now (new chips: 0x60).")
@click.option("--verify", is_flag=True, help="Write nothing: check that every chip, picked "
              "by its LDAC wire, reports the address bits of 0x60 + k (exit 1 if not).")
def dac_address_cmd(port: str, bench: str, chip: int | None, new: int | None, old: int,
                    verify: bool) -> None:
    """Give one MCP4728 a new I2C address (written to its EEPROM), or --verify them all.

    Chips ship at 0x60; a bench's chip k must answer at 0x60 + k. The chip is picked by
    its LDAC pin (the MCP4728's address command), so every chip may share the old address.
    Refused, with nothing written, when the new address already answers.
    """
    if verify:
        if chip is not None or new is not None:
            raise click.UsageError("--verify checks every chip: give it without --chip/--to")
        _verify(port, bench)
        return
    if chip is None or new is None:
        raise click.UsageError("give --chip and --to (or --verify)")
    with board_port(port, bench) as name:
        result = program_address(name, load_bench(bench), chip, new, old)
    click.echo(f"MCP4728 #{result.chip} (LDAC GP{result.ldac_gpio}): 0x{result.old:02x} -> "
               f"0x{result.new:02x} (EEPROM write {result.busy_ms} ms); chips now at "
               + ", ".join(f"0x{a:02x}" for a in result.found)
               + f"; firmware {result.hello.get('firmware')} answers")


def _verify(port: str, bench: str) -> None:
    with board_port(port, bench) as name:
        chips = verify_addresses(name, load_bench(bench))
    for c in chips:
        click.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.describe()}")
    check = address_bits_check(chips)
    if not check.ok:
        raise SystemExit(1)


def _labgrid_places(coordinator: str | None, as_json: bool) -> None:
    from dataclasses import asdict

    from wphil.drivers.labgrid_place import coordinator_address, list_places

    places = list_places(coordinator)
    if as_json:
        click.echo(json.dumps([asdict(p) for p in places], indent=2))
        return
    address = coordinator_address(coordinator)
    click.echo(f"labgrid places on {address}:" if places else f"labgrid places on {address}: none")
    for p in places:
        where = ("no serial port exported" if p.serial is None else
                 f"{p.serial.exporter} {p.serial.host}:{p.serial.port or '(ser2net when held)'}"
                 + (" raw" if p.serial.protocol == "raw" else ""))
        state = f"held by {p.holder}" if p.holder else "free"
        click.echo(f"  labgrid://{p.name:10} {state:24} {where}  {p.comment}".rstrip())


@click.command(name="devices")
@click.option("--port", "ports", multiple=True, help="Also probe this port (not listed by the "
              "OS: a pty, socket://HOST:PORT); repeatable.")
@click.option("--no-probe", is_flag=True, help="List only; do not open any port.")
@click.option("--no-visa", is_flag=True, help="Skip the VISA instruments.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--labgrid", "labgrid", is_flag=True, help="List the places on the labgrid "
              "coordinator (LG_COORDINATOR, or --coordinator) instead, with who holds them.")
@click.option("--coordinator", metavar="HOST:PORT", help="The labgrid coordinator (--labgrid).")
def devices_cmd(ports: tuple[str, ...], no_probe: bool, no_visa: bool, as_json: bool,
                labgrid: bool, coordinator: str | None) -> None:
    """List serial ports (Raspberry Pi Picos first, with what they run) and VISA instruments."""
    from wphil.lab import list_devices, visa_resources

    if labgrid or coordinator:
        _labgrid_places(coordinator, as_json)
        return
    if as_json:
        click.echo(json.dumps(list_devices(ports, probe=not no_probe, visa=not no_visa), indent=2))
        return
    found = list_devices(ports, probe=not no_probe, visa=False)
    click.echo("serial ports:" if found["serial"] else "serial ports: none found")
    for entry in found["serial"]:
        mark = "pico" if entry["pico"] else "    "
        ident = f"  serial {entry['serial_number']}" if entry["serial_number"] else ""
        status = f"  {entry['status']}" if entry["status"] else ""
        click.echo(f"  {mark} {entry['port']:14} {entry['description']}{ident}{status}")
    if no_visa:
        return
    # pyvisa-py also searches the local network: seconds, so say so before the wait
    click.echo("VISA resources: searching (and the local network; a few seconds)...")
    visa = visa_resources()
    if visa["backend"] is None:
        click.echo(f"VISA: {visa['error']}")
        return
    click.echo(f"VISA resources ({visa['backend']}):" if visa["resources"]
               else f"VISA resources ({visa['backend']}): none found")
    for name in visa["resources"]:
        click.echo(f"       {name}")
