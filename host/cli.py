"""The `wphil` command line. Only this module prints.

Every expected failure ends in one line on stderr and an exit code: 2 for a bad option,
bench file, task or URL; 1 for a device that cannot be reached or misbehaves; 130 when
interrupted. Run directories are left complete and resumable in every case.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from drivers import DEFAULT_BENCH, DEFAULT_URL, check_url, open_device
from drivers.bench import load_bench
from drivers.errors import ConfigError, DeviceError, WphilError
from drivers.profiles import PROFILES
from host import __version__
from host.progress import EpochProgress
from host.rules import RULES, check_rule
from host.runs import RunDir
from host.session import RunSpec, default_out, execute, prepare_resume
from host.tasks import load_task
from host.train import TrainConfig

log = logging.getLogger("wphil")

DEVICE_HELP = ("Device URL: mock:// (simulated, default; options ?seed=N&board_seed=N&noise=V), "
               "upy://, /dev/ttyACM0, COM3, auto, socket://HOST:PORT.")
#: options that define a run; with --resume they come from the run's config.toml
_FIXED_ON_RESUME = ("bench", "profile", "task", "algo", "lr", "pert", "momentum", "init_scale",
                    "batch_size", "rounding", "seed", "out", "onchip", "rule_option")


def _rule_options(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                  ) -> dict[str, str] | None:
    """NAME=VALUE pairs as a dict (checked against the rule later, when the rule is known)."""
    options = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        options[name.strip()] = value.strip()
    return options or None


def _appendable(ctx: click.Context, param: click.Parameter, path: str | None) -> str | None:
    """A file we can append to, checked before anything else is written."""
    if path is not None:
        try:
            open(path, "a").close()
        except OSError as exc:
            raise click.BadParameter(f"cannot write {path}: {exc.strerror}") from None
    return path


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="Log to stderr: -v info, -vv debug.")
@click.version_option(__version__, prog_name="wphil")
def cli(verbose: int) -> None:
    """Train analog neural networks in the loop by weight perturbation.

    Runs on the built-in simulated bench (mock://) unless --device names real hardware.
    """
    handler = logging.StreamHandler()
    handler.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(handler.level, logging.INFO))


@cli.command()
@click.option("--device", default=DEFAULT_URL, show_default=True, help=DEVICE_HELP)
@click.option("--bench", help=f"Built-in bench name or a bench TOML file  [default: {DEFAULT_BENCH}]")
@click.option("--profile", type=click.Choice(PROFILES), help="Simulated non-idealities "
              "(ideal: none, 16-bit; harsh: 8-bit DACs, 10% mismatch, a stuck weight).  "
              "[default: default]")
@click.option("--task", help="xor, parity3, parity4, iris, or a CSV file whose last column is "
              "the label  [default: the bench's task]")
@click.option("--algo", type=click.Choice(sorted(RULES)), help="Learning rule  [default: bench]")
@click.option("--rule-option", "-O", multiple=True, callback=_rule_options, metavar="NAME=VALUE",
              help="A hyperparameter of the learning rule, e.g. -O tau_theta=16 for mgd "
              "(repeatable; the rules and their options are in the README).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), help="Learning rate  "
              "[default: the bench's, scaled for noisier rules].")
@click.option("--pert", type=click.FloatRange(0, min_open=True),
              help="Perturbation in weight units (at least one DAC LSB is used).")
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), help="SGD momentum.")
@click.option("--init-scale", type=click.FloatRange(0), help="Initial weights uniform in "
              "+-INIT_SCALE (weight units).")
@click.option("--batch-size", type=click.IntRange(0), help="Patterns per step; 1 = per pattern "
              "(Jabri & Flower), 0 = whole set.")
@click.option("--epochs", type=click.IntRange(1), help="Stop after this many epochs.")
@click.option("--max-queries", type=click.IntRange(1), help="Stop after this many forward passes.")
@click.option("--target-accuracy", type=click.FloatRange(0, 1), help="Stop at this accuracy.")
@click.option("--target-loss", type=click.FloatRange(0), help="Also require this loss (V^2; 0 = off).")
@click.option("--rounding", type=click.Choice(["round", "stochastic"]),
              help="How float weights become DAC codes  [default: round]")
@click.option("--seed", type=click.IntRange(0), help="Seed of the initial weights and every "
              "host-side random draw  [default: 0]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory  [default: runs/DATE-TIME-TASK-ALGO]")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path),
              help="Continue the run in this directory (only --device, --epochs, --max-queries "
              "and the targets may change).")
@click.option("--onchip", is_flag=True, default=None, help="Run the perturbation loop on the "
              "device (per pattern, forward difference); the host only records progress.")
@click.option("--log-wire", type=click.Path(dir_okay=False), callback=_appendable,
              help="Append every frame sent and "
              "received (timestamped, hex) to this file: for debugging a bench.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def train(ctx: click.Context, device: str, resume: Path | None, no_progress: bool,
          log_wire: str | None, **options: Any) -> None:
    """Train a network on a bench and write a run directory.

    With no options: XOR on the simulated 2-2-1 bench, in seconds.
    """
    if resume is not None:
        given = [n for n in _FIXED_ON_RESUME if options[n] is not None]
        if given:
            raise click.UsageError(f"--{given[0].replace('_', '-')} cannot be changed on --resume "
                                   "(it is fixed in the run's config.toml)")
        spec, rundir, state = prepare_resume(
            resume, device if _given(ctx, "device") else None, epochs=options["epochs"],
            max_queries=options["max_queries"], target_accuracy=options["target_accuracy"],
            target_loss=options["target_loss"])
        done = rundir.summary()
        if done and done.get("converged") and state is not None:
            click.echo(f"{resume}: already converged at epoch {state.epoch}; nothing to do")
            return
    else:
        spec = _new_spec(device, options)
        out = options["out"] or default_out(spec.task, spec.config.algo)
        rundir, state = RunDir.create(out, spec.to_config()), None
    progress = EpochProgress(spec.config.epochs, state.epoch if state else 0, disable=no_progress)
    try:
        with progress:
            summary = execute(spec, rundir, state, progress.update, log_wire)
    except DeviceError as exc:
        raise DeviceError(f"{exc}; the run is saved: continue it with "
                          f"wphil train --resume {rundir.path}") from None
    _print_summary(summary, rundir.path)


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _new_spec(device: str, options: dict[str, Any]) -> RunSpec:
    check_url(device, onchip=bool(options["onchip"]))
    bench = load_bench(options["bench"] or DEFAULT_BENCH, options["profile"] or "default")
    task = options["task"] or bench.bench.task
    load_task(task).check_fits(bench)
    settings = {k: options[k] for k in ("algo", "lr", "pert", "momentum", "init_scale",
                                        "batch_size", "epochs",
                                        "max_queries", "target_accuracy", "target_loss",
                                        "rounding", "seed", "onchip")}
    config = TrainConfig.for_bench(bench, **settings, rule_options=options["rule_option"])
    if config.onchip and config.algo != "wp":
        raise ConfigError(f"--onchip runs the firmware's own loop, which is wp; --algo "
                          f"{config.algo} runs on the host only")
    rule = check_rule(config.algo, config.rule_options)
    rule.check_bench(bench)
    # every option of the rule, typed and resolved, so config.toml records them all
    config = replace(config, rule_options=rule.resolve_options(config.rule_options))
    return RunSpec(device, bench, task, config)


def _print_summary(summary: dict[str, Any], path: Path) -> None:
    verdict = "converged" if summary["converged"] else f"stopped ({summary['stop_reason']})"
    click.echo(f"{verdict} at epoch {summary['epochs']}: loss {summary['loss']:.4g}, accuracy "
               f"{100 * summary['accuracy']:.1f}%, {summary['queries']} queries in "
               f"{summary['wall_s']:.2f} s -> {path}")


@cli.command()
@click.option("--device", default=DEFAULT_URL, show_default=True, help=DEVICE_HELP)
@click.option("--bench", default=DEFAULT_BENCH, show_default=True, help="Bench name or file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--log-wire", type=click.Path(dir_okay=False), callback=_appendable,
              help="Append every frame to this file.")
def info(device: str, bench: str, as_json: bool, log_wire: str | None) -> None:
    """Show what a device is: converters, topology, firmware, capabilities."""
    with open_device(device, load_bench(bench), log_wire) as dev:
        details = dev.info().to_dict()
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    for name, value in details.items():
        click.echo(f"{name:14} {value}")


@cli.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--device", help="Device URL  [default: the run's device]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_cmd(run_dir: Path, device: str | None, as_json: bool) -> None:
    """Load a run's final weights onto a device and measure loss and accuracy."""
    from host.evaluate import evaluate_run

    result = evaluate_run(run_dir, device)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for row in result["patterns"] if len(result["patterns"]) <= 32 else []:
        click.echo(f"  inputs {row['features']}  outputs {row['outputs']}  "
                   f"-> {row['predicted']} (label {row['label']})")
    click.echo(f"{result['task']} on {result['device']}: loss {result['loss']:.4g}, "
               f"accuracy {100 * result['accuracy']:.1f}% over {len(result['patterns'])} patterns")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turn every expected error into one line and an exit code."""
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
    except (click.exceptions.Abort, KeyboardInterrupt):
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


# -- commands defined in their own modules (kept here, at the end, so parallel work merges cleanly)
from host.cli_bench import bench, plot  # noqa: E402
from host.cli_board import devices_cmd, flash_cmd  # noqa: E402
from host.cli_lab import calibrate_cmd, power  # noqa: E402

cli.add_command(calibrate_cmd)
cli.add_command(power)
cli.add_command(flash_cmd)
cli.add_command(devices_cmd)
cli.add_command(bench)
cli.add_command(plot)
