"""`wphil bench tune`: the one tuning protocol for every method (host/compare/tuning.py).

Registered on the `bench` group (host/cli/compare.py). Only the CLI prints.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from wphil.cli.compare import (
    RUNS_FILE,
    _check_learn_out,
    _load_runs,
    _meta,
    _names,
    _StatusLine,
    bench,
    task_budget_map,
)
from wphil.compare import (
    ALL_RULES,
    DEFAULT_DEVICE,
    DEFAULT_TUNING_SEEDS,
    MIN_TUNING_SEEDS,
    TASK_BENCH,
    check_grid,
    job_key,
    run_grid,
    tuned_file,
    tuning_jobs,
    tuning_markdown,
)
from wphil.drivers.errors import ConfigError

TUNED_FILE = "tuned.json"


@bench.command()
@click.option("--tasks", help=f"Comma-separated tasks  [default: {','.join(TASK_BENCH)}]")
@click.option("--rules", default=",".join(ALL_RULES), show_default=True,
              help="Comma-separated learning rules and peer optimizers to tune.")
@click.option("--profile", default="heldout", show_default=True,
              help="The one profile every tuning run uses.")
@click.option("--device", default=DEFAULT_DEVICE, show_default=True,
              help="Simulated backend of the tuning runs (as bench learn's --device).")
@click.option("--first-seed", type=click.IntRange(0, 2**31),
              default=DEFAULT_TUNING_SEEDS[0], show_default=True,
              help="First tuning seed (board 1+SEED); bench learn --settings refuses them.")
@click.option("--seeds", type=click.IntRange(MIN_TUNING_SEEDS, 1000),
              default=len(DEFAULT_TUNING_SEEDS), show_default=True,
              help="Tuning seeds per configuration.")
@click.option("--max-queries", type=click.IntRange(1), help="Query budget of every tuning run "
              "[default: bench learn's per task]")
@click.option("--budget", "task_budgets", multiple=True, metavar="TASK=N",
              help="Query budget of one task's tuning runs (repeatable), over --max-queries.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Runs in parallel (processes).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for tuned.json (the file bench learn --settings reads), "
              "tuning.md and runs.jsonl.")
@click.option("--resume", is_flag=True, help="Keep the runs already in OUT/runs.jsonl.")
def tune(tasks: str | None, rules: str, profile: str, device: str, first_seed: int,
         seeds: int, max_queries: int | None, task_budgets: tuple[str, ...], jobs: int,
         out: Path, resume: bool) -> None:
    """Tune every method under one protocol: 8 declared configurations each (SPACE_SIZE), on
    the same tuning seeds and budget, picked by the same criterion.

    Writes OUT/tuned.json for `wphil bench learn --settings OUT/tuned.json`, and
    OUT/tuning.md with every candidate's score.
    """
    task_names = _names(tasks or ",".join(TASK_BENCH), "--tasks")
    rule_names = _names(rules, "--rules")
    check_grid(task_names, rule_names, [profile], device, command="bench tune")
    budgets = task_budget_map(task_names, max_queries, task_budgets)
    seed_list = list(range(first_seed, first_seed + seeds))
    _check_learn_out(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create it: {exc.strerror}") from None
    job_list = tuning_jobs(task_names, rule_names, seed_list, profile, budgets, device)
    earlier = _load_runs(out / RUNS_FILE) if resume else []
    (out / RUNS_FILE).write_text("".join(json.dumps(r) + "\n" for r in earlier))
    started = datetime.now()
    wanted = {job_key(j) for j in job_list}
    status = _StatusLine(len(job_list), sum(job_key(r) in wanted for r in earlier), quiet=False)
    with open(out / RUNS_FILE, "a", encoding="utf-8") as log:
        def done(result: dict[str, Any]) -> None:
            log.write(json.dumps(result) + "\n")
            log.flush()
            status.update(result)

        results = run_grid(job_list, jobs, done, earlier)
    meta = _meta(started, budgets, seeds, jobs, device, first_seed)
    keep = ("command", "date", "finished", "machine", "wphil_version")
    tuned = tuned_file(results, task_names, rule_names, seed_list, profile, budgets, device,
                       {k: meta[k] for k in keep})
    (out / TUNED_FILE).write_text(json.dumps(tuned, indent=1) + "\n", encoding="utf-8")
    table = tuning_markdown(tuned)
    (out / "tuning.md").write_text(table, encoding="utf-8")
    click.echo(table, nl=False)
    click.echo(f"wrote {out / TUNED_FILE}, {out / 'tuning.md'}, {out / RUNS_FILE}")
