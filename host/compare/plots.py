"""PNG figures: one run's learning curve (`wphil plot`) and the rule comparison (`bench learn`).

matplotlib is optional (the `plot` extra); `require_matplotlib` turns its absence into a
`ConfigError` that says how to install it. Figures are drawn with the Agg backend, so no
display is needed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from wphil.compare.benchmark import ALL_RULES, BASELINES, IN_LOOP
from wphil.drivers.errors import ConfigError


def require_matplotlib() -> Any:
    """matplotlib.pyplot on the Agg backend, or a `ConfigError` naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("plotting needs matplotlib: pip install 'wphil[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(metrics: list[dict[str, str]], title: str, path: Path,
             target_loss: float | None = None, target_accuracy: float | None = None) -> Path:
    """Loss (log) and accuracy of one run against queries (or epochs if no queries were
    spent), with the run's targets as dashed lines of the same colours."""
    plt = require_matplotlib()
    queries = np.array([int(r["queries"]) for r in metrics])
    epochs = np.array([int(r["epoch"]) for r in metrics])
    loss = np.array([float(r["loss"]) for r in metrics])
    accuracy = np.array([float(r["accuracy"]) for r in metrics])
    by_queries = np.count_nonzero(queries) > 1
    x, label = (queries, "device queries") if by_queries else (epochs, "epoch")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(x, loss, color="tab:blue", lw=1.4)
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("loss (V², whole set)", color="tab:blue")
    if by_queries and x.max() > 100 * max(x[x > 0].min(), 1):
        ax.set_xscale("log")
    twin = ax.twinx()
    twin.plot(x, 100 * accuracy, color="tab:orange", lw=1.0, alpha=0.8)
    twin.set_ylabel("accuracy (%)", color="tab:orange")
    twin.set_ylim(0, 102)
    lines = []
    if target_loss:
        lines.append(ax.axhline(target_loss, color="tab:blue", ls="--", lw=1.0,
                                label=f"target loss {target_loss:g} V²"))
    if target_accuracy:
        lines.append(twin.axhline(100 * target_accuracy, color="tab:orange", ls="--", lw=1.0,
                                  label=f"target accuracy {100 * target_accuracy:g}%"))
    if lines:     # below the plot: a legend inside could cover the curves where they end
        fig.legend(handles=lines, loc="lower center", ncol=len(lines), fontsize=8,
                   frameon=False)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout(rect=(0, 0.06 if lines else 0, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_trajectory(npz: Path, title: str, path: Path) -> Path:
    """A sequence run's target and measured outputs against time, one panel per output;
    steps the loss does not score shaded grey (and named so in the legend). The legend
    sits above the panels, where it covers no target point."""
    plt = require_matplotlib()
    data = np.load(npz)
    target, measured, scored = data["target"][0], data["measured"][0], data["scored"]
    t_ms = np.arange(1, len(target) + 1) * float(data["step_us"]) / 1000
    outputs = target.shape[1]
    fig, axes = plt.subplots(outputs, 1, figsize=(7, 1.2 + 2.2 * outputs), dpi=110, squeeze=False)
    for k, ax in enumerate(axes[:, 0]):
        ax.plot(t_ms, target[:, k], color="0.4", lw=1.2, ls="--", marker=".", label="target")
        ax.plot(t_ms, measured[:, k], color="tab:blue", lw=1.4, marker="o", ms=3,
                label="measured (ADC)")
        for n, t in enumerate(t_ms[~scored]):
            ax.axvspan(t - 0.5 * t_ms[0], t + 0.5 * t_ms[0], color="0.9", lw=0,
                       label="not scored (no answer yet)" if n == 0 else None)
        ax.set_ylabel(f"output {k} (V)")
        ax.grid(True, alpha=0.25)
    axes[0, 0].legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3,
                      frameon=False)
    fig.suptitle(title, fontsize=10)
    axes[-1, 0].set_xlabel("time (ms), one sample per step")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _target_loss(task: str) -> float | None:
    """The loss a run of `task` stops at in `bench learn` (its bench's [defaults])."""
    from wphil.compare.benchmark import TASK_BENCH
    from wphil.drivers.bench_files import load_bench

    if task not in TASK_BENCH:
        return None
    return load_bench(TASK_BENCH[task]).defaults.target_loss or None


def _style(rule: str) -> dict[str, Any]:
    if rule in IN_LOOP:
        return {"ls": "-", "lw": 1.6}
    return {"ls": "--", "lw": 1.3} if rule in BASELINES else {"ls": ":", "lw": 1.8}


def plot_comparison(curves: dict[str, Any], path: Path, title: str = "") -> Path:
    """Median loss against queries per rule with its quartile band; one panel per task x profile."""
    plt = require_matplotlib()
    profiles = list(curves)
    tasks = list(dict.fromkeys(t for p in profiles for t in curves[p]))
    fig, axes = plt.subplots(len(profiles), len(tasks), squeeze=False, dpi=110,
                             figsize=(5.2 * len(tasks), 3.9 * len(profiles)))
    colors = [*plt.get_cmap("tab10").colors, "black"]
    rules = list(dict.fromkeys(r for p in profiles for t in curves[p].values() for r in t
                               if r != "queries"))
    for i, profile in enumerate(profiles):
        for j, task in enumerate(tasks):
            ax = axes[i][j]
            data = curves[profile].get(task)
            if data is None:
                ax.set_visible(False)
                continue
            q = np.array(data["queries"], dtype=float)
            for rule in (r for r in rules if r in data):
                band = {k: np.array([np.nan if v is None else v for v in data[rule][k]], float)
                        for k in ("median", "q1", "q3")}
                order = ALL_RULES.index(rule) if rule in ALL_RULES else rules.index(rule)
                color = colors[order % len(colors)]
                ax.plot(q, band["median"], color=color, label=rule, **_style(rule))
                ax.fill_between(q, band["q1"], band["q3"], color=color, alpha=0.12, lw=0)
            target = _target_loss(task)
            if target:
                ax.axhline(target, color="0.3", ls="-.", lw=1.0, label="target loss")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{task} ({profile} profile)", fontsize=10)
            ax.set_xlabel("device queries")
            ax.set_ylabel("loss (V², whole set)")
            ax.grid(True, which="both", alpha=0.25)
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    labels = [r for r in rules if r in legend] + [k for k in ("target loss",) if k in legend]
    handles = [legend[r] for r in labels]
    from matplotlib.patches import Patch
    handles.append(Patch(color="0.5", alpha=0.25, lw=0))
    labels.append("band: middle half\nof the seeds")
    top = 1.0
    if title:      # a whole command line: wrapped to the figure's width, not cut off
        # about 15 characters of 9-point text per inch
        wrapped = textwrap.wrap(title, max(40, int(15 * fig.get_figwidth())))
        fig.suptitle("\n".join(wrapped), fontsize=9)
        top = 1 - (0.1 + 0.16 * len(wrapped)) / fig.get_figheight()
    fig.tight_layout(rect=(0, 0, 1 - 1.3 / fig.get_figwidth(), top))
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    fig.savefig(path)
    plt.close(fig)
    return path
