"""`wphil train`, `wphil info` and `wphil eval`: the commands that run a network on a device.

Registered on the main `wphil` group in wphil.cli; like the rest of the CLI, only this
module prints, and failures are raised to become one line and an exit code there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wphil.cli.measure import is_trajectory, result_text, rms_text
from wphil.cli.progress import EpochProgress
from wphil.cli.setting_options import RESUME_HELP, setting_options
from wphil.drivers import DEFAULT_BENCH, DEFAULT_URL, open_device
from wphil.drivers.bench_files import load_bench
from wphil.drivers.errors import DeviceError
from wphil.drivers.profiles import PROFILES
from wphil.drivers.training_settings import option_name
from wphil.runs import (
    RESUMABLE,
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
               "upy:// (the firmware under the MicroPython unix port), rp2040:// (an emulated "
               "Pico), spice:// (the bench's circuit in ngspice), /dev/ttyACM0, COM3, auto, "
               "socket://HOST:PORT.")
#: options of a new run that are not training settings: fixed on --resume too
_RUN_OPTIONS = ("bench", "profile", "task", "rule_option", "out")


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
@click.option("--rule-option", "-O", multiple=True, callback=_rule_options, metavar="NAME=VALUE",
              help="A hyperparameter of the learning rule, e.g. -O tau_theta=16 for mgd "
              "(repeatable; the rules and their options: docs/explanation/learning-rules.md).")
@setting_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory  [default: runs/DATE-TIME-TASK-ALGO]")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path), help=RESUME_HELP)
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
        given = [n for n in (*_RUN_OPTIONS, *SETTINGS)
                 if n not in RESUMABLE and options.get(n) is not None]
        if given:
            raise click.UsageError(f"{option_name(given[0])} cannot be changed on --resume "
                                   "(it is fixed in the run's config.toml)")
        spec, rundir, state = prepare_resume(
            resume, device if _given(ctx, "device") else None,
            **{n: options[n] for n in RESUMABLE})
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
    progress = EpochProgress(total, state.epoch if state else 0, disable=no_progress,
                             trajectory=is_trajectory(spec.task))
    try:
        with progress:
            summary = execute(spec, rundir, state, progress.update, log_wire, dev)
    except DeviceError as exc:
        raise DeviceError(f"{exc}; the run is saved: continue it with "
                          f"wphil train --resume {rundir.path}") from None
    _print_summary(summary, rundir.path, spec)


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
                    options["rule_option"], **{k: options[k] for k in SETTINGS if k in options})


def _print_summary(summary: dict[str, Any], path: Path, spec: RunSpec) -> None:
    verdict = "converged" if summary["converged"] else f"stopped ({summary['stop_reason']})"
    result = result_text(spec.task, spec.bench, summary["loss"], summary["accuracy"],
                         spec.config.target_loss)
    over = summary.get("queries_over_budget") or 0
    budget = (f" ({over} past the --max-queries budget of {summary['max_queries']}: a step and "
              "the epoch's evaluation run to their end)" if over else "")
    click.echo(f"{verdict} at epoch {summary['epochs']}: {result}, {summary['queries']} "
               f"queries{budget} in "
               f"{summary['wall_s']:.2f} s -> {path}")
    twin = summary.get("twin")
    if twin:
        click.echo(f"twin model {twin['model']}: held-out probe rms "
                   f"{1000 * twin['heldout_rms_volts']:.2f} mV, "
                   f"{twin['heldout_over_noise']:.2f}x the noise floor "
                   f"{1000 * twin['noise_volts']:.2f} mV; {twin['probe_queries']} probe queries for "
                   f"{twin['fitted_parameters']} fitted parameters "
                   f"({twin['queries_per_parameter']:.2f} per parameter)")


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


def _print_eval(result: dict[str, Any]) -> None:
    """The closing line of `wphil eval`: accuracy, or for trajectories the RMS error."""
    where = f"{result['task']} on {result['device']}"
    if "sequences" not in result:
        click.echo(f"{where}: loss {result['loss']:.4g}, accuracy "
                   f"{100 * result['accuracy']:.1f}% over {len(result['patterns'])} patterns")
        return
    for n, seq in enumerate(result["sequences"]):
        right = "" if result["trajectory"] else f", {seq['right']}/{seq['scored']} steps right"
        click.echo(f"  sequence {n}: {seq['steps']} steps, RMS error "
                   f"{rms_text(seq['rms_volts'] ** 2, result['adc_lsb_volts'])}{right}")
    if result["trajectory"]:
        rms = rms_text(result["loss"], result["adc_lsb_volts"])
        click.echo(f"{where}: RMS error {rms} over the trajectory, loss {result['loss']:.4g}")
    else:
        click.echo(f"{where}: loss {result['loss']:.4g}, accuracy "
                   f"{100 * result['accuracy']:.1f}% over the scored steps")


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
    _print_eval(result)
    if "twin" in result:
        click.echo(f"twin vs device: rms difference {1000 * result['twin']['rms_volts']:.1f} mV, "
                   f"largest {1000 * result['twin']['max_volts']:.1f} mV over the outputs "
                   f"(the fitted model of {run_dir / 'twin.json'})")
