"""`wphil train`, `wphil info` and `wphil eval`: the commands that run a network on a device.

Registered on the main `wphil` group in wphil.cli; like the rest of the CLI, only this
module prints, and failures are raised to become one line and an exit code there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from wphil.cli.progress import EpochProgress
from wphil.drivers import DEFAULT_BENCH, DEFAULT_URL, open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import DeviceError
from wphil.drivers.profiles import PROFILES
from wphil.learning import OPTIMIZERS, RULES
from wphil.runs import (
    SETTINGS,
    UNLIMITED_EPOCHS,
    RunDir,
    RunSpec,
    default_out,
    execute,
    new_spec,
    open_run_device,
    prepare_resume,
)

DEVICE_HELP = ("Device URL: mock:// (simulated, default; options ?seed=N&board_seed=N&noise=V), "
               "upy://, /dev/ttyACM0, COM3, auto, socket://HOST:PORT.")
#: options that define a run; with --resume they come from the run's config.toml
_FIXED_ON_RESUME = ("bench", "profile", "task", "algo", "lr", "pert", "momentum", "init_scale",
                    "batch_size", "rounding", "seed", "out", "onchip", "rule_option", "optimizer",
                    "restart_after")


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange, refusing NaN and infinities (which every range check lets by)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


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


@click.command()
@click.option("--device", default=DEFAULT_URL, show_default=True, help=DEVICE_HELP)
@click.option("--bench", help=f"Built-in bench name or a bench TOML file  [default: {DEFAULT_BENCH}]")
@click.option("--profile", type=click.Choice(PROFILES), help="Simulated non-idealities "
              "(ideal: none, 16-bit; harsh: 8-bit DACs, 10% mismatch, a stuck weight; "
              "worst: every part at up to its datasheet maximum).  "
              "[default: default]")
@click.option("--task", help="xor, parity3, parity4, iris, or a CSV file whose last column is "
              "the label  [default: the bench's task]")
@click.option("--algo", type=click.Choice(sorted(RULES)), help="Learning rule  [default: bench]")
@click.option("--rule-option", "-O", multiple=True, callback=_rule_options, metavar="NAME=VALUE",
              help="A hyperparameter of the learning rule, e.g. -O tau_theta=16 for mgd "
              "(repeatable; the rules and their options are in the README).")
@click.option("--lr", type=FiniteFloatRange(0, min_open=True), help="Learning rate  "
              "[default: the bench's, scaled for noisier rules].")
@click.option("--pert", type=FiniteFloatRange(0, min_open=True),
              help="Perturbation in weight units (at least one DAC LSB is used).")
@click.option("--momentum", type=FiniteFloatRange(0, 1, max_open=True), help="SGD momentum "
              "(Adam's beta1; 0 means 0.9 for Adam).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="How a gradient estimate "
              "becomes a step, for every rule  [default: sgd]")
@click.option("--restart-after", type=click.IntRange(0), help="Restart from fresh weights after "
              "this many epochs without a new lowest loss  [default: 0, never]")
@click.option("--init-scale", type=FiniteFloatRange(0), help="Initial weights uniform in "
              "+-INIT_SCALE (weight units).")
@click.option("--batch-size", type=click.IntRange(0), help="Patterns per step; 1 = per pattern "
              "(Jabri & Flower), 0 = whole set.")
@click.option("--epochs", type=click.IntRange(1), help="Stop after this many epochs.")
@click.option("--max-queries", type=click.IntRange(1), help="Stop after this many forward passes.")
@click.option("--target-accuracy", type=FiniteFloatRange(0, 1), help="Stop at this accuracy.")
@click.option("--target-loss", type=FiniteFloatRange(0), help="Also require this loss (V^2; 0 = off).")
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
            rundir.close()
            click.echo(f"{resume}: already converged at epoch {state.epoch}; nothing to do")
            return
        dev = _open_or_release(spec, log_wire, rundir)
    else:
        spec = _new_spec(device, options)
        out = options["out"] or default_out(spec.task, spec.config.algo)
        RunDir.check_new(out)
        dev = open_run_device(spec, log_wire)
        rundir, state = _create_or_close(out, spec, dev), None
    total = None if spec.config.epochs >= UNLIMITED_EPOCHS else spec.config.epochs
    progress = EpochProgress(total, state.epoch if state else 0, disable=no_progress)
    try:
        with progress:
            summary = execute(spec, rundir, state, progress.update, log_wire, dev)
    except DeviceError as exc:
        raise DeviceError(f"{exc}; the run is saved: continue it with "
                          f"wphil train --resume {rundir.path}") from None
    _print_summary(summary, rundir.path)


def _open_or_release(spec: RunSpec, log_wire: str | None, rundir: RunDir) -> Any:
    """The device of a resumed run; if it cannot be opened the run is left as it was."""
    try:
        return open_run_device(spec, log_wire)
    except BaseException:
        rundir.close()
        raise


def _create_or_close(out: Path, spec: RunSpec, dev: Any) -> RunDir:
    try:
        return RunDir.create(out, spec.to_config())
    except BaseException:
        dev.close()
        raise


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _new_spec(device: str, options: dict[str, Any]) -> RunSpec:
    return new_spec(device, options["bench"], options["profile"], options["task"],
                    options["rule_option"], **{k: options[k] for k in SETTINGS})


def _print_summary(summary: dict[str, Any], path: Path) -> None:
    verdict = "converged" if summary["converged"] else f"stopped ({summary['stop_reason']})"
    # the loss is a mean squared error in V^2: its root is the error a scope would show
    loss = ("n/a" if summary["loss"] is None
            else f"{summary['loss']:.4g} (RMS {1000 * summary['loss'] ** 0.5:.0f} mV)")
    over = summary.get("queries_over_budget") or 0
    budget = (f" ({over} past the --max-queries budget of {summary['max_queries']}: a step and "
              "the epoch's evaluation run to their end)" if over else "")
    click.echo(f"{verdict} at epoch {summary['epochs']}: loss {loss}, accuracy "
               f"{100 * summary['accuracy']:.1f}%, {summary['queries']} queries{budget} in "
               f"{summary['wall_s']:.2f} s -> {path}")


@click.command()
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


@click.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--device", help="Device URL  [default: the run's device]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_cmd(run_dir: Path, device: str | None, as_json: bool) -> None:
    """Load a run's final weights onto a device and measure loss and accuracy."""
    from wphil.runs import evaluate_run


    result = evaluate_run(run_dir, device)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for row in result["patterns"] if len(result["patterns"]) <= 32 else []:
        click.echo(f"  inputs {row['features']}  outputs {row['outputs']}  "
                   f"-> {row['predicted']} (label {row['label']})")
    click.echo(f"{result['task']} on {result['device']}: loss {result['loss']:.4g}, "
               f"accuracy {100 * result['accuracy']:.1f}% over {len(result['patterns'])} patterns")
    if "twin" in result:
        click.echo(f"twin vs device: rms difference {1000 * result['twin']['rms_volts']:.1f} mV, "
                   f"largest {1000 * result['twin']['max_volts']:.1f} mV over the outputs "
                   f"(the fitted model of {run_dir / 'twin.json'})")
