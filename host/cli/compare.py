"""`wphil bench learn` and `wphil plot`: compare learning rules, draw learning curves.

Registered on the main `wphil` group in host/cli/__init__.py. Only the CLI prints.
"""

from __future__ import annotations

import json
import platform
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import numpy as np
from tqdm import tqdm

from wphil import __version__
from wphil.compare import (
    ALL_RULES,
    BUDGETS,
    DEFAULT_DEVICE,
    FARM,
    TASK_BENCH,
    TASK_SETTINGS,
    bench_urls,
    check_grid,
    check_reported_seeds,
    curves,
    goals,
    job_key,
    job_url,
    load_tuned,
    make_jobs,
    markdown,
    merge_tuned,
    run_farm,
    run_grid,
    settings_for,
    summarize,
)
from wphil.drivers.errors import ConfigError

QUICK = {"tasks": "xor", "seeds": 3, "max_queries": 20_000}


def _names(text: str, option: str) -> list[str]:
    """A comma-separated list that names something at least once and nothing twice."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise click.UsageError(f"{option} {text!r}: names nothing; give a comma-separated list")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise click.UsageError(f"{option} {text!r}: {', '.join(twice)} given twice; "
                               "for more runs use --seeds")
    return names


def task_budget_map(tasks: list[str], max_queries: int | None,
                    given: tuple[str, ...]) -> dict[str, int]:
    """task -> query budget: --budget TASK=N, else --max-queries, else the task's default."""
    budgets = {t: max_queries or BUDGETS[t] for t in tasks}
    for text in given:
        task, _, number = text.partition("=")
        if task not in budgets or not number.isdigit() or int(number) < 1:
            raise click.UsageError(f"--budget {text}: give TASK=N with N >= 1 and TASK one "
                                   f"of --tasks ({', '.join(tasks)})")
        budgets[task] = int(number)
    return budgets


def _check_learn_out(out: Path) -> None:
    """Refuse an --out that is a training run directory: its files would be mixed with ours."""
    if out.is_dir() and any((out / name).exists() for name in ("config.toml", "metrics.csv")):
        raise click.UsageError(f"--out {out}: is a training run directory (wphil train); "
                               "choose another folder for the benchmark")


@click.group()
def bench() -> None:
    """Benchmarks on the simulated benches (mock:// by default)."""


@bench.command()
@click.option("--tasks", help=f"Comma-separated tasks  [default: {','.join(TASK_BENCH)}]")
@click.option("--rules", default=",".join(ALL_RULES), show_default=True,
              help="Comma-separated learning rules and peer optimizers.")
@click.option("--seeds", type=click.IntRange(1, 10_000), help="Seeds per task and rule  "
              "[default: 10]")
@click.option("--profile", "profiles", default="default", show_default=True,
              help="Comma-separated profiles: ideal, default, harsh, heldout.")
@click.option("--max-queries", type=click.IntRange(1), help="Query budget of every run  "
              "[default: per task: " + ", ".join(f"{t} {b:,}" for t, b in BUDGETS.items()) + "]")
@click.option("--budget", "task_budgets", multiple=True, metavar="TASK=N",
              help="Query budget of one task's runs (repeatable), over --max-queries.")
@click.option("--device", default=DEFAULT_DEVICE, show_default=True,
              help="Simulated backend every run uses: mock://, upy://, spice://, rp2040://, "
              "with options of its own if any (upy://?timeout=5); each run gets its own "
              "board: seed=100+SEED&board_seed=1+SEED are added per run. Or a farm: a "
              "comma-separated list of bench URLs (serial ports, socket://, labgrid://PLACE, "
              "simulated schemes) or a labgrid place pattern (labgrid://bench*): one job per "
              "bench at a time, a failing bench's job goes to another.")
@click.option("--first-seed", type=click.IntRange(0, 2**31), default=0, show_default=True,
              help="First seed: the runs use seeds N .. N+SEEDS-1 (boards nobody tuned on).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Runs in parallel (processes).")
@click.option("--quick", is_flag=True, help="Smoke test: xor only, 3 seeds, 20,000-query "
              "budget (options given explicitly still apply).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for learn.md, learn.json, learn.png  "
              "[default: runs/bench-learn-DATE-TIME]")
@click.option("--resume", is_flag=True, help="Keep the runs already in OUT/runs.jsonl (from a "
              "stopped grid with the same settings) and run only the rest.")
@click.option("--report-only", is_flag=True, help="With --resume: write the table from the runs "
              "already in OUT/runs.jsonl, without running the missing ones (a stopped grid).")
@click.option("--settings", "settings_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Tuned-settings file from `wphil bench tune` (repeatable: one per task, "
              "say): every method runs its chosen configuration; seeds overlapping the "
              "tuning seeds are refused. Without it every method runs its defaults.")
@click.option("--redo", help="With --resume: comma-separated rules whose earlier runs (on "
              "this invocation's tasks and profiles) are dropped and run again (e.g. --redo "
              "twin after twin changed); the rest are kept.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def learn(tasks: str | None, rules: str, seeds: int | None, profiles: str,
          max_queries: int | None, device: str, first_seed: int, jobs: int, quick: bool,
          out: Path | None, resume: bool, report_only: bool, settings_files: tuple[Path, ...],
          redo: str | None, task_budgets: tuple[str, ...], no_progress: bool) -> None:
    """Every task x rule x seed on a simulated device: queries to target (per forward pass
    and per readout channel), success, accuracy, time.

    Prints a markdown table (medians, quartiles, success rates) and writes it with the
    JSON of every run and a PNG of loss against queries (needs the `plot` extra).
    """
    task_names = _names(tasks or (QUICK["tasks"] if quick else ",".join(TASK_BENCH)), "--tasks")
    rule_names, profile_names = _names(rules, "--rules"), _names(profiles, "--profile")
    seeds = seeds or (QUICK["seeds"] if quick else 10)
    max_queries = max_queries or (QUICK["max_queries"] if quick else None)
    benches = bench_urls(device)
    if benches and jobs > 1:
        raise click.UsageError(f"--jobs {jobs}: a farm of benches runs one job per bench at a "
                               "time; leave --jobs out")
    check_grid(task_names, rule_names, profile_names, device, benches or ())
    budgets = task_budget_map(task_names, max_queries, task_budgets)
    if resume and out is None:
        raise click.UsageError("--resume needs the --out directory of the stopped grid")
    if report_only and not resume:
        raise click.UsageError("--report-only needs --resume (and --out)")
    redo_rules = _names(redo, "--redo") if redo else []
    if redo_rules and not resume:
        raise click.UsageError("--redo needs --resume (and --out)")
    if set(redo_rules) - set(rule_names):
        raise click.UsageError(f"--redo {redo}: name rules of --rules ({rules})")
    tuned, settings, where = None, None, ", ".join(map(str, settings_files))
    if settings_files:
        tuned = merge_tuned([load_tuned(str(p)) for p in settings_files], where)
        check_reported_seeds(tuned, first_seed, seeds, where)
        settings = settings_for(tuned, task_names, rule_names, where, partial=report_only)
    out = out or Path("runs") / datetime.now().strftime("bench-learn-%Y%m%d-%H%M%S")
    _check_learn_out(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create it: {exc.strerror}") from None
    grid_device = FARM if benches else device
    job_list = make_jobs(task_names, rule_names, seeds, profile_names, budgets, grid_device,
                         first_seed, settings)
    earlier = _load_runs(out / RUNS_FILE) if resume else []
    earlier = [r for r in earlier if not (r["rule"] in redo_rules and r["task"] in task_names
                                          and r["profile"] in profile_names)]
    _check_same_grid(earlier, grid_device, first_seed, out)
    # start the file afresh, or keep just its whole lines (a stopped grid may have left half
    # of one at the end)
    (out / RUNS_FILE).write_text("".join(json.dumps(r) + "\n" for r in earlier))
    started = datetime.now()
    with tqdm(total=len(job_list), unit="run", disable=True if no_progress else None,
              dynamic_ncols=True) as bar, open(out / RUNS_FILE, "a", encoding="utf-8") as log:
        wanted = {job_key(j) for j in job_list}
        bar.update(sum(job_key(r) in wanted for r in earlier))
        status = _StatusLine(len(job_list), bar.n, quiet=no_progress or not bar.disable)

        def done(result: dict[str, Any]) -> None:
            log.write(json.dumps(result) + "\n")      # every finished run, on disk at once
            log.flush()
            bar.set_postfix_str(f"{result['profile']} {result['task']} {result['rule']}",
                                refresh=False)
            bar.update()
            status.update(result)

        states = []
        if report_only:
            results = [r for r in earlier if job_key(r) in wanted]
        elif benches:
            results, states = run_farm(job_list, benches, done, earlier)
        else:
            results = run_grid(job_list, jobs, done, earlier)
    meta = _meta(started, budgets, seeds, jobs, device, first_seed, benches)
    if states:
        meta["benches"] = [s.as_dict() for s in states]
    meta.update({"settings_file": where or None,
                 "tuned": tuned})
    summary = summarize(results)
    goal_rows = goals(summary)
    table = markdown(summary, goal_rows, meta) + _bench_lines(meta.get("benches", []))
    click.echo(table, nl=False)
    written = _write(out, table, {**meta, "summary": summary, "goals": goal_rows,
                                  "curves": curves(results), "runs": _runs(results)})
    click.echo("wrote " + ", ".join(str(p) for p in written))


RUNS_FILE = "runs.jsonl"


def _load_runs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise ConfigError(f"{path} not found: nothing to resume")
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            break                              # a line cut off when the grid was stopped
    # a job run twice (two resumes at once) counts once: its last run
    return list({job_key(r): r for r in runs}.values())


def _check_same_grid(earlier: list[dict[str, Any]], device: str, first_seed: int,
                     out: Path) -> None:
    """Refuse to resume a grid that ran on another device or from another first seed."""
    for run in earlier:
        given = (run.get("device", DEFAULT_DEVICE), run.get("first_seed", 0))
        if given != (device, first_seed):
            was, now = (_as_device(d) for d in (given[0], device))
            raise ConfigError(f"--resume: {out / RUNS_FILE} ran on --device {was} "
                              f"--first-seed {given[1]}, not {now} {first_seed}; resume "
                              "with those, or use another --out")


def _as_device(device: str) -> str:
    return "(a farm of benches)" if device == FARM else device


class _StatusLine:
    """Without a terminal (nohup, CI) the bar is off: one line on stderr every 30 s instead."""

    def __init__(self, total: int, done: int, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, done, quiet
        self.start = self.last = time.monotonic()
        self.ran = 0

    def update(self, result: dict[str, Any]) -> None:
        self.done += 1
        self.ran += 1
        now = time.monotonic()
        if self.quiet or (now - self.last < 30 and self.done < self.total):
            return
        self.last = now
        eta = (now - self.start) / self.ran * (self.total - self.done)
        click.echo(f"bench learn: {self.done}/{self.total} runs, last {result['profile']} "
                   f"{result['task']} {result['rule']} seed {result['seed']}; about "
                   f"{eta / 60:.0f} min to go", err=True)


def _bench_lines(benches: list[dict[str, Any]]) -> str:
    """A farm's benches under the table: what each ran, and which failed and why."""
    if not benches:
        return ""
    lines = ["", "Benches (one job at a time each):", ""]
    for b in benches:
        uid = b.get("identity", {}).get("unique_id")
        state = "healthy" if b["healthy"] else f"UNHEALTHY: {b['failure']}"
        lines.append(f"- `{b['url']}`{f' (unique_id {uid})' if uid else ''}: {b['jobs']} runs, "
                     f"{state}")
    return "\n".join(lines) + "\n"


def _meta(started: datetime, budgets: dict[str, int], seeds: int, jobs: int, device: str,
          first_seed: int, benches: list[str] | None = None) -> dict[str, Any]:
    argv = ["wphil", *sys.argv[1:]] if Path(sys.argv[0]).name in ("wphil", "__main__.py") \
        else ["wphil", "bench", "learn"]
    return {"command": shlex.join(argv), "date": started.strftime("%Y-%m-%d %H:%M"),
            "finished": datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
            "wphil_version": __version__, "numpy": np.__version__,
            "scipy": _version("scipy"), "cma": _version("cma"),
            "nevergrad": _version("nevergrad"), "Py-BOBYQA": _version("Py-BOBYQA"), "seeds": seeds,
            "jobs": jobs, "budgets": budgets, "task_benches": TASK_BENCH,
            "task_settings": TASK_SETTINGS,
            "device": device, "first_seed": first_seed,
            "seed_range": [first_seed, first_seed + seeds - 1],
            "device_urls": ("BENCH?seed=100&board_seed=1" if benches else job_url(device, 0))
            .replace("seed=100&", "seed=100+SEED&") + "+SEED"}


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _runs(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "curve"} for r in results]


def _write(out: Path, table: str, report: dict[str, Any]) -> list[Path]:
    (out / "learn.md").write_text(table, encoding="utf-8")
    (out / "learn.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    written = [out / "learn.md", out / "learn.json"]
    if not report["curves"]:
        return written                     # nothing ran (every rule n/a): no curves to draw
    try:
        from wphil.compare import plot_comparison

        written.append(plot_comparison(report["curves"], out / "learn.png",
                                       f"{report['command']} ({report['date']})"))
    except ConfigError as exc:
        click.echo(f"wphil: note: no PNG: {exc}", err=True)
    return written


#: the image formats `wphil plot --out` writes (matplotlib picks the format by suffix)
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _image_path(ctx: click.Context, param: click.Parameter, path: Path | None) -> Path | None:
    """An image file name whose folder exists, checked before the run is read."""
    if path is None:
        return None
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"{path}: the plot is written as {', '.join(PLOT_SUFFIXES)}; "
                                 "name the file with one of these suffixes")
    if not path.resolve().parent.is_dir():
        raise click.BadParameter(f"{path}: {path.parent} is not a directory")
    return path


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), callback=_image_path,
              help="Image file, .png, .pdf or .svg  [default: RUN_DIR/learning_curve.png]")
def plot(run_dir: Path, out: Path | None) -> None:
    """Draw a run's learning curve (loss and accuracy against queries) as a PNG."""
    from wphil.compare import plot_run
    from wphil.runs import RunDir

    rundir = RunDir.reopen(run_dir)
    rundir.check_metrics(0)                 # every row a metrics row, epochs 1, 2, ...
    metrics = rundir.metrics()
    if not metrics:
        raise ConfigError(f"{run_dir}: metrics.csv has no rows yet")
    run = rundir.config().get("run", {})
    title = f"{run.get('task', '?')} with {run.get('algo', '?')} on {run.get('device', '?')} " \
            f"({run.get('bench_name', '?')}, {run.get('profile', 'default')} profile)"
    twin_file = run_dir / "twin.json"
    if twin_file.exists():       # the twin's fit: how far its model was from the probed board
        fit = json.loads(twin_file.read_text(encoding="utf-8"))
        title += (f"\ntwin vs device at the probes: {1000 * fit.get('rms_volts', float('nan')):.1f}"
                  f" mV rms ({fit.get('probes', '?')} probes, {fit.get('queries', '?')} queries)")
    path = plot_run(metrics, title, out or run_dir / "learning_curve.png",
                    run.get("target_loss"), run.get("target_accuracy"))
    click.echo(f"wrote {path}")
    if (run_dir / "trajectory.npz").is_file():           # a sequence task's last replay
        from wphil.compare import plot_trajectory
        drawn = plot_trajectory(run_dir / "trajectory.npz", title, run_dir / "trajectory.png")
        click.echo(f"wrote {drawn}")
