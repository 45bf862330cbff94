"""The tuning protocol in Markdown: the `wphil bench tune` report, and the section a
`bench learn --settings FILE` grid prints about the file it ran (host/compare/tuning.py)."""

from __future__ import annotations

from typing import Any


def _fmt(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in settings.items()) or "defaults"


def protocol_lines(tuned: dict[str, Any], path: str | None = None) -> list[str]:
    """What every method was tuned under, and the choice per task and method."""
    p = tuned["protocol"]
    seeds, boards = p["tuning_seeds"], p["tuning_boards"]
    lines = ["### Tuning protocol", ""]
    if path:
        lines.append(f"Settings from `{path}`, made by `{tuned.get('command', '?')}` "
                     f"({tuned.get('date', '?')}).")
    lines += [f"Every method (rule, baseline, peer) declared {p['space_size']} configurations "
              f"and ran each on tuning seeds {', '.join(map(str, seeds))} (boards "
              f"{', '.join(map(str, boards))}) on `{p['device']}`, profile `{p['profile']}`; "
              f"budget per method: " + "; ".join(f"{t}: {b}" for t, b in
                                                 p["budget_per_method"].items()) + ".",
              f"Criterion, the same for all: {p['criterion']}.", "",
              "| task | method | chosen (candidate #) | success | median queries (failures "
              "at budget) | search space |", "|---|---|---|---:|---:|---|"]
    for task, methods in tuned["candidates"].items():
        for rule, pick in methods.items():
            if pick["status"] != "ok":
                lines.append(f"| {task} | {rule} | n/a ({pick['why']}) | | | |")
                continue
            best = pick["candidates"][pick["chosen_index"]]
            space = "; ".join(_fmt(c["settings"]) for c in pick["candidates"])
            lines.append(f"| {task} | {rule} | {_fmt(pick['chosen'])} (#{pick['chosen_index']}) "
                         f"| {best['successes']}/{best['runs']} | {best['queries_median']:,.0f} "
                         f"| {space} |")
    return lines + [""]


def tuning_markdown(tuned: dict[str, Any]) -> str:
    """The `wphil bench tune` report: the command, the protocol, every candidate's score."""
    lines = [f"`{tuned['command']}` — {tuned['date']}, {tuned['machine']}", ""]
    lines += protocol_lines(tuned)
    lines += ["### Every candidate", "", "| task | method | # | settings | success | median "
              "queries (failures at budget) | median final loss (V²) |",
              "|---|---|---:|---|---:|---:|---:|"]
    for task, methods in tuned["candidates"].items():
        for rule, pick in methods.items():
            for c in pick["candidates"]:
                mark = " **chosen**" if c["order"] == pick.get("chosen_index") else ""
                lines.append(f"| {task} | {rule} | {c['order']} | {_fmt(c['settings'])}{mark} "
                             f"| {c['successes']}/{c['runs']} | {c['queries_median']:,.0f} "
                             f"| {c['loss_median']:.4g} |")
    return "\n".join(lines) + "\n"
