"""One tuning protocol for every method, ours and the peers' (issue 21): `wphil bench tune`.

Every method (learning rule, baseline or peer optimizer) declares a search space of exactly
`SPACE_SIZE` configurations (`search_space`), its defaults first. Each configuration runs on
the same tuning seeds (at least `MIN_TUNING_SEEDS`; 700-702 unless told) with the same query
budget per run, so every method gets the same tuning budget: SPACE_SIZE x seeds runs of at
most `max_queries` queries each. The same criterion picks every method's configuration
(`select`): the highest success rate, then the lowest median queries to the target with
failed runs charged the budget, then the lowest median final loss, then declaration order
(the defaults win a tie). The choice, the whole space, the budget and the seeds are written
to a tuned-settings file that `wphil bench learn --settings FILE` reads; that refuses to
report on seeds (hence boards: a job's board_seed is 1 + its seed) that the tuning used.

The trainer rules' space is built on the rule's own defaults for the task's bench
(TrainConfig.for_bench, with the task's mini-batches): lr x {1, 0.5, 2, 0.2}, the bench's
momentum or the other (0.8 where the bench has none, else 0), the bench's restart_after or
the other (300 stalled epochs, or never where the bench says 300). The per-task values
`bench learn` used to apply to our rules only (mgd lr 0.2x on iris, momentum 0.8 for pat and
twin on xor, restart_after 300 on parity4) are among the candidates. `twin` trades its
lr and restart axes for its identification's cost: four shares of its default probe count
x the two momenta. Each peer tunes its
main step size (four values around its default) and the stagnation window (1x or 3x).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

import numpy as np

from wphil.compare.benchmark import (
    TASK_BENCH,
    TASK_SETTINGS,
    Job,
    job_url,
    settings_json,
)
from wphil.compare.registry import PEERS
from wphil.drivers import load_bench
from wphil.drivers.errors import ConfigError
from wphil.learning import TrainConfig

log = logging.getLogger(__name__)

#: every method declares exactly this many configurations
SPACE_SIZE = 8
MIN_TUNING_SEEDS = 3
DEFAULT_TUNING_SEEDS = (700, 701, 702)
CRITERION = ("success rate (highest), then median queries to the target with failed runs "
             "charged the budget (lowest), then median final loss (lowest), then declaration "
             "order (defaults first)")
FORMAT = "wphil-tuned-settings/1"

#: trainer rules: (lr factor on the rule's default, momentum: the bench's (0) or the other
#: (1), restart_after: the bench's (0) or the other (1)); see `_alternative`
TRAINER_GRID = ((1.0, 0, 0), (1.0, 1, 0), (0.5, 0, 0), (0.5, 1, 0),
                (2.0, 0, 0), (0.2, 0, 0), (1.0, 0, 1), (1.0, 1, 1))
#: the other momentum: 0.8 where the bench has none, else plain SGD; the other restart
#: rule: after 300 stalled epochs, or never where the bench already says 300
OTHER_MOMENTUM, OTHER_RESTART = 0.8, 300
#: twin: its identification's cost, the share of the default probe count (and of the noise
#: floor's repeated readouts: the rule's probe_share), x the bench's momentum or the other
#: (its in-loop fallback's); the lr and restart axes act only if the transfer misses
TWIN_PROBE_SHARES = (1.0, 0.5, 0.25, 0.125)
#: peers: (option, its four values, the first the default); each x stall_scale 1 or 3
PEER_AXES: dict[str, tuple[str, tuple[float, ...]]] = {
    "nelder-mead": ("step", (0.5, 0.25, 1.0, 0.125)),
    "powell": ("step", (1.0, 0.5, 0.25, 2.0)),
    "cma-es": ("sigma0", (0.5, 0.25, 1.0, 0.125)),
    "cma-es-mb": ("sigma0", (0.5, 0.25, 1.0, 0.125)),
    "ngopt": ("sigma", (1.0, 0.5, 0.25, 2.0)),
    "bobyqa": ("rhobeg", (0.0, 0.1, 0.25, 0.5)),
}
STALL_SCALES = (1.0, 3.0)


def search_space(task: str, rule: str, profile: str = "default") -> list[dict[str, Any]]:
    """The method's declared configurations for `task` (SPACE_SIZE of them, defaults first)."""
    if rule in PEERS:
        option, values = PEER_AXES[rule]
        space = [{option: v, "stall_scale": s} for s in STALL_SCALES for v in values]
    else:
        bench = load_bench(TASK_BENCH[task], profile)
        config = TrainConfig.for_bench(bench, algo=rule, **TASK_SETTINGS.get(task, {}))
        momenta = (config.momentum, OTHER_MOMENTUM if config.momentum == 0 else 0.0)
        restarts = (config.restart_after,
                    OTHER_RESTART if config.restart_after != OTHER_RESTART else 0)
        if rule == "twin":
            space = [{"lr": config.lr, "momentum": momenta[m], "restart_after": restarts[0],
                      "rule_options": {"probe_share": share}}
                     for m in (0, 1) for share in TWIN_PROBE_SHARES]
        else:
            space = [{"lr": float(f"{config.lr * f:.6g}"), "momentum": momenta[m],
                      "restart_after": restarts[r]} for f, m, r in TRAINER_GRID]
    assert len(space) == SPACE_SIZE, (rule, len(space))
    return space


def tuning_jobs(tasks: list[str], rules: list[str], seeds: list[int], profile: str,
                budgets: dict[str, int], device: str) -> list[Job]:
    """Every task x method x configuration x tuning seed: the same budget for all."""
    return [Job(profile, t, r, s, budgets[t], device, seeds[0], settings_json(c))
            for t in tasks for r in rules for c in search_space(t, r, profile) for s in seeds]


def _score(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r.get("status") == "ok"]
    wins = sum(bool(r.get("converged")) for r in ok)
    charged = [r["queries"] if r.get("converged") else r["max_queries"] for r in runs
               if r.get("status") in ("ok", "error")]
    losses = [r["loss"] for r in ok if r.get("loss") is not None and np.isfinite(r["loss"])]
    return {"runs": len(runs), "successes": wins, "success_rate": wins / len(runs),
            "queries_median": float(np.median(charged)) if charged else float("inf"),
            "loss_median": float(np.median(losses)) if losses else float("inf")}


def select(task: str, rule: str, space: list[dict[str, Any]],
           runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration the criterion picks from `runs` (each row's `settings` names its
    configuration), with every candidate's score."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by[r.get("settings", "")].append(r)
    scored = []
    for i, config in enumerate(space):
        got = by.get(settings_json(config), [])
        if not got:
            raise ConfigError(f"tuning {task}/{rule}: no runs of candidate {config}")
        if got[0].get("status") == "n/a":
            return {"status": "n/a", "why": got[0].get("why", ""), "candidates": []}
        scored.append({"settings": config, **_score(got), "order": i})
    best = min(scored, key=lambda c: (-c["success_rate"], c["queries_median"],
                                      c["loss_median"], c["order"]))
    return {"status": "ok", "chosen": best["settings"], "chosen_index": best["order"],
            "candidates": scored}


def tuned_file(runs: list[dict[str, Any]], tasks: list[str], rules: list[str],
               seeds: list[int], profile: str, budgets: dict[str, int],
               device: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The tuned-settings file: the protocol, then every method's choice and candidates."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        by[(r["task"], r["rule"])].append(r)
    chosen: dict[str, dict[str, Any]] = {t: {} for t in tasks}
    detail: dict[str, dict[str, Any]] = {t: {} for t in tasks}
    for t in tasks:
        for r in rules:
            pick = select(t, r, search_space(t, r, profile), by[(t, r)])
            detail[t][r] = pick
            if pick["status"] == "ok":
                chosen[t][r] = pick["chosen"]
    protocol = {"space_size": SPACE_SIZE, "tuning_seeds": seeds,
                "tuning_boards": [1 + s for s in seeds], "profile": profile,
                "device": device, "device_urls": job_url(device, 0).replace(
                    "seed=100&", "seed=100+SEED&") + "+SEED",
                "budgets": budgets,
                "budget_per_method": {t: f"{SPACE_SIZE} configurations x {len(seeds)} seeds "
                                      f"x at most {budgets[t]:,} queries" for t in tasks},
                "criterion": CRITERION}
    return {"format": FORMAT, **meta, "protocol": protocol, "chosen": chosen,
            "candidates": detail}


def load_tuned(path: str) -> dict[str, Any]:
    """A tuned-settings file, checked: its format, and that every choice is a configuration
    of the method's declared space (a `ConfigError` naming the file otherwise)."""
    try:
        data = json.loads(open(path, encoding="utf-8").read())
    except OSError as exc:
        raise ConfigError(f"--settings {path}: cannot read it: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--settings {path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"--settings {path}: not a tuned-settings file (wphil bench tune); "
                          f"its format must be {FORMAT}")
    return data


def merge_tuned(files: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """Several tuned-settings files (one per task or group of methods, say) as one: they
    must share the protocol (space size, seeds, profile, device) and tune no method of a
    task twice."""
    merged = {**files[0], "protocol": dict(files[0]["protocol"]), "chosen": {},
              "candidates": {}}
    same = ("space_size", "tuning_seeds", "profile", "device", "criterion")
    for i, other in enumerate(files):
        p = other["protocol"]
        if any(p[k] != merged["protocol"][k] for k in same):
            raise ConfigError(f"--settings {where}: the files were tuned under different "
                              "protocols (space size, seeds, profile or device)")
        for task, methods in other["candidates"].items():
            twice = set(methods) & set(merged["candidates"].get(task, {}))
            if twice:
                raise ConfigError(f"--settings {where}: {task}/{', '.join(sorted(twice))} "
                                  "tuned twice")
            merged["candidates"].setdefault(task, {}).update(methods)
            merged["chosen"].setdefault(task, {}).update(other["chosen"].get(task, {}))
        if i:
            for key in ("budgets", "budget_per_method"):
                merged["protocol"][key] = {**merged["protocol"][key], **p[key]}
            merged["command"] = f"{merged.get('command', '?')}; {other.get('command', '?')}"
    return merged


def check_reported_seeds(tuned: dict[str, Any], first_seed: int, seeds: int,
                         path: str) -> None:
    """Refuse to report on a seed (and so a board) the tuning ran on."""
    tuning = set(tuned["protocol"]["tuning_seeds"])
    overlap = sorted(tuning & set(range(first_seed, first_seed + seeds)))
    if overlap:
        raise ConfigError(f"--first-seed {first_seed} --seeds {seeds}: seeds "
                          f"{', '.join(map(str, overlap))} were tuning seeds of {path}; report "
                          f"on seeds nobody tuned on (outside {min(tuning)}-{max(tuning)})")


def settings_for(tuned: dict[str, Any], tasks: list[str], rules: list[str],
                 path: str, partial: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """task -> rule -> tuned settings for the grid; every method in it must have been tuned
    (unless `partial`: a report of the runs so far, whose untuned methods have none)."""
    chosen, detail = tuned.get("chosen", {}), tuned.get("candidates", {})
    missing = [f"{t}/{r}" for t in tasks for r in rules
               if r not in chosen.get(t, {}) and detail.get(t, {}).get(r, {}).get("status") != "n/a"]
    if missing and not partial:
        raise ConfigError(f"--settings {path}: no tuned settings for {', '.join(missing)}; tune "
                          "them (wphil bench tune) or leave out --settings")
    return {t: {r: chosen[t][r] for r in rules if r in chosen.get(t, {})} for t in tasks}
