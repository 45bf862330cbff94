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


def plot_run(metrics: list[dict[str, str]], title: str, path: Path) -> Path:
    """Loss (log) and accuracy of one run against queries (or epochs if no queries were spent)."""
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
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_trajectory(npz: Path, title: str, path: Path) -> Path:
    """A sequence run's target and measured outputs against time, one panel per output;
    unscored steps shaded."""
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
        for t in t_ms[~scored]:
            ax.axvspan(t - 0.5 * t_ms[0], t + 0.5 * t_ms[0], color="0.9", lw=0)
        ax.set_ylabel(f"output {k} (V)")
        ax.grid(True, alpha=0.25)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[0, 0].set_title(title, fontsize=10)
    axes[-1, 0].set_xlabel("time (ms), one sample per step")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


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
    labels = [r for r in rules if r in legend]
    handles = [legend[r] for r in labels]
    if title:      # a whole command line: wrapped to the figure's width, not cut off
        fig.suptitle("\n".join(textwrap.wrap(title, 150)), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1 - 1.3 / fig.get_figwidth(), 1))
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    fig.savefig(path)
    plt.close(fig)
    return path
