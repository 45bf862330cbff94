"""Comparisons: peer optimizers behind a query-counting adapter, the `wphil bench learn` grid,
its report, and the figures (a run's learning curve, the rule comparison).

What other parts of wphil use is imported here; the modules themselves are internal.
"""

from wphil.compare.benchmark import (
    ALL_RULES,
    BUDGETS,
    DEFAULT_DEVICE,
    FARM,
    TASK_BENCH,
    TASK_SETTINGS,
    check_grid,
    job_key,
    job_url,
    make_jobs,
    run_grid,
)
from wphil.compare.farm import bench_urls, run_farm
from wphil.compare.peers import DeviceLoss, StopSearch, initial_weights
from wphil.compare.plots import plot_comparison, plot_run, plot_trajectory
from wphil.compare.registry import PEERS, make_peer
from wphil.compare.report import curves, goals, markdown, summarize
from wphil.compare.tuning import (
    DEFAULT_TUNING_SEEDS,
    MIN_TUNING_SEEDS,
    check_reported_seeds,
    load_tuned,
    merge_tuned,
    settings_for,
    tuned_file,
    tuning_jobs,
)
from wphil.compare.tuning_report import tuning_markdown

__all__ = [
    "ALL_RULES", "BUDGETS", "DEFAULT_DEVICE", "DEFAULT_TUNING_SEEDS", "FARM", "MIN_TUNING_SEEDS",
    "PEERS", "TASK_BENCH", "bench_urls", "check_reported_seeds", "load_tuned", "merge_tuned",
    "run_farm", "settings_for", "tuned_file", "tuning_jobs", "tuning_markdown",
    "TASK_SETTINGS", "DeviceLoss",
    "StopSearch", "check_grid", "curves", "goals", "initial_weights", "job_key", "job_url", "make_jobs",
    "make_peer", "markdown", "plot_comparison", "plot_run", "plot_trajectory", "run_grid",
    "summarize",
]
