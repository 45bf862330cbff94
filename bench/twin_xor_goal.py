"""Issue 21's speed goal on xor with the tuned `twin`: its grids against the best peer's.

Reads the twin's grids (`wphil bench learn --tasks xor --rules twin ... --settings
bench/results/twin-xor-goal/tuning/tuned.json`, on spice:// default and mock:// heldout,
seeds 800-809 like the main grids and 900-909 on boards nobody tuned or reported on) and
the main grids' best peer (bench/results/learn-spice-tuned, learn-heldout-tuned: the same
seeds 800-809), and writes the ratio, counted per forward pass and per readout channel,
with the fit each twin run used: its held-out probe rms over its noise floor (the runs'
`twin` block) and the model chosen.

    python bench/twin_xor_goal.py [--out bench/results/twin-xor-goal] [--quick]

`--quick` prints the table from the rows there and writes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from results_stamp import stamp
from script_args import add_quick

RESULTS = Path(__file__).parent / "results"
#: twin grid directory -> (the main grid with the peers, what the rows are)
GRIDS = {"spice": ("learn-spice-tuned", "spice:// default, seeds 800-809"),
         "spice-unseen": ("learn-spice-tuned", "spice:// default, seeds 900-909 (unseen)"),
         "heldout": ("learn-heldout-tuned", "mock:// heldout, seeds 800-809"),
         "heldout-unseen": ("learn-heldout-tuned", "mock:// heldout, seeds 900-909 (unseen)")}
GOAL = 0.1


def best_peer(main: dict) -> dict:
    """The peer with the highest success, then the lowest median queries, on xor."""
    peers = [s for s in main["summary"] if s["task"] == "xor" and s["kind"] == "peer"
             and s.get("status") == "ok"]
    return min(peers, key=lambda s: (-s["success_rate"], s["queries_median"]))


def row(name: str, out: Path) -> dict | None:
    path = out / name / "learn.json"
    if not path.exists():
        return None
    grid = json.loads(path.read_text(encoding="utf-8"))
    main_name, what = GRIDS[name]
    peer = best_peer(json.loads((RESULTS / main_name / "learn.json").read_text(encoding="utf-8")))
    runs = [r for r in grid["runs"] if r["rule"] == "twin"]
    ok = [bool(r.get("converged")) for r in runs]
    charged = [r["queries"] if c else r["max_queries"] for r, c in zip(runs, ok)]
    reads = [r["channel_reads"] for r in runs]
    fit = [r["twin"]["heldout_over_noise"] for r in runs if "twin" in r]
    q, c = float(np.median(charged)), float(np.median(reads))
    return {"grid": name, "what": what, "command": grid["command"], "runs": len(runs),
            "successes": sum(ok), "queries_median": q, "queries_max": max(charged),
            "channel_reads_median": c, "peer": peer["rule"], "peer_grid": main_name,
            "peer_successes": f"{peer['successes']}/{peer['runs']}",
            "peer_queries_median": peer["queries_median"],
            "peer_channel_reads_median": peer["channel_reads_median"],
            "ratio": q / peer["queries_median"],
            "ratio_per_channel": c / peer["channel_reads_median"],
            "met": q <= GOAL * peer["queries_median"] and sum(ok) / len(runs) >= peer["success_rate"],
            "fit_over_noise_median": float(np.median(fit)) if fit else None,
            "fit_over_noise_range": [min(fit), max(fit)] if fit else None,
            "models": sorted({r["twin"]["model"] for r in runs if "twin" in r})}


def markdown(rows: list[dict], command: str) -> str:
    lines = ["# twin on xor against the best peer (issue 21's speed goal)", "",
             f"`{command}`", "",
             "| grid | twin success | twin median queries (max) | best peer (main grid) | peer "
             "median queries | ratio per pass | per channel | goal 0.1x | twin's fit: held-out "
             "/ noise, median (range) | model |",
             "|---|---:|---:|---|---:|---:|---:|---|---|---|"]
    for r in rows:
        fit = ("—" if r["fit_over_noise_median"] is None else
               f"{r['fit_over_noise_median']:.0f}x ({r['fit_over_noise_range'][0]:.0f}–"
               f"{r['fit_over_noise_range'][1]:.0f}x)")
        lines.append(
            f"| {r['what']} | {r['successes']}/{r['runs']} | {r['queries_median']:.0f} "
            f"({r['queries_max']:.0f}) | {r['peer']} ({r['peer_successes']}) "
            f"| {r['peer_queries_median']:.0f} | {r['ratio']:.3f} | {r['ratio_per_channel']:.3f} "
            f"| {'met' if r['met'] else 'not met'} | {fit} | {', '.join(r['models'])} |")
    lines += ["", "The grids' commands:", ""] + [f"- `{r['command']}`" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "twin-xor-goal")
    add_quick(parser)
    args = parser.parse_args()
    rows = [r for r in (row(name, args.out) for name in GRIDS) if r is not None]
    if not rows:
        parser.error(f"{args.out}: no twin grid there (learn.json); run the grids first")
    stamped = stamp()
    text = markdown(rows, stamped["command"])
    print(text, end="")
    if args.quick:
        return
    (args.out / "goal.json").write_text(json.dumps({**stamped, "rows": rows}, indent=1) + "\n",
                                        encoding="utf-8")
    (args.out / "goal.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
