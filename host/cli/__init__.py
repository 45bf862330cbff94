"""The `wphil` command line: the main group, its error handling, and one module per command
group (train, board, lab, compare). Only the CLI prints.

Every expected failure ends in one line on stderr and an exit code: 2 for a bad option,
bench file, task or URL; 1 for a device that cannot be reached or misbehaves; 130 when
interrupted (Ctrl-C), 143 when terminated (SIGTERM, as a job scheduler or `kill` sends it:
handled like Ctrl-C, so the run is saved and boards the command started are stopped). Run
directories are left complete and resumable in every case.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from wphil import __version__
from wphil.drivers.errors import ConfigError, DeviceError, WphilError

log = logging.getLogger("wphil")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="Log to stderr: -v info, -vv debug.")
@click.version_option(__version__, prog_name="wphil")
def cli(verbose: int) -> None:
    """Train analog neural networks in the loop by weight perturbation.

    Runs on the built-in simulated bench (mock://) unless --device names real hardware.
    """
    handler = logging.StreamHandler()
    handler.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    handler.setFormatter(logging.Formatter(      # the time: what waited, and for how long
        "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(handler.level, logging.INFO))
    _show_status()


class _StatusHandler(logging.StreamHandler):
    """Status lines to whatever sys.stderr is when they are said (click's test runner
    swaps it per invocation)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("wphil: %(message)s"))

    @property
    def stream(self):  # noqa: ANN201 - logging's attribute
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


def _show_status() -> None:
    """Say on stderr what a long wait is for (wphil.drivers.status), once per process."""
    status = logging.getLogger("wphil.status")
    if not any(isinstance(h, _StatusHandler) for h in status.handlers):
        status.addHandler(_StatusHandler())
    status.setLevel(logging.INFO)
    status.propagate = False             # not twice with -v


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so it unwinds like Ctrl-C: the training loop
    saves its run and every `with` closes its device (Python's default SIGTERM ends the
    process at once, leaving emulated boards and simulators running)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn every expected error into one line and an exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="wphil", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except click.ClickException as exc:
        command = f"{exc.ctx.command_path} --help" if getattr(exc, "ctx", None) else "wphil --help"
        click.echo(f"wphil: error: {exc.format_message()} (see '{command}')", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:   # click wraps it in Abort
        if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated):
            click.echo("wphil: terminated (a run directory continues with --resume DIR)",
                       err=True)
            sys.exit(143)
        click.echo("wphil: interrupted (a run directory continues with --resume DIR)", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"wphil: error: {exc}", err=True)
        sys.exit(2)
    except (DeviceError, WphilError) as exc:
        click.echo(f"wphil: device error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"wphil: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug: still one line, the traceback goes to the debug log
        log.debug("unexpected error", exc_info=True)
        click.echo(f"wphil: internal error: {type(exc).__name__}: {exc} (rerun with -vv for the "
                   "traceback)", err=True)
        sys.exit(1)


# -- the commands, one module per group
from wphil.cli import tune as _tune  # noqa: E402,F401  (registers `bench tune`)
from wphil.cli.board import dac_address_cmd, devices_cmd, flash_cmd  # noqa: E402
from wphil.cli.check import check_cmd  # noqa: E402
from wphil.cli.compare import bench, plot  # noqa: E402
from wphil.cli.emulator import emulator  # noqa: E402
from wphil.cli.farm import farm  # noqa: E402
from wphil.cli.lab import calibrate_cmd, power  # noqa: E402
from wphil.cli.schematic import schematic_cmd  # noqa: E402
from wphil.cli.train import eval_cmd, info, train  # noqa: E402

for command in (train, info, eval_cmd, flash_cmd, dac_address_cmd, devices_cmd, calibrate_cmd,
                power, bench, plot, schematic_cmd, check_cmd, emulator, farm):
    cli.add_command(command)
