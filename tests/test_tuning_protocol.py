"""The one tuning protocol (`wphil bench tune`, wphil.compare.tuning): the same declared space
size and budget for every method, seeds disjoint from the reported ones, the choice recorded
and read back by `bench learn --settings`, and a tune that picks the known better config."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.test_cli import wphil
from wphil.compare import ALL_RULES, run_grid
from wphil.compare.benchmark import Job, run_job, settings_json
from wphil.compare.tuning import SPACE_SIZE, search_space, select, tuning_jobs

RULES = "pat,nelder-mead"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Path:
    """A tiny real tune: xor on mock:// heldout, one rule and one peer, 1,500 queries a run."""
    out = tmp_path_factory.mktemp("tune") / "tune"
    wphil("bench", "tune", "--tasks", "xor", "--rules", RULES, "--max-queries", "1500",
          "--jobs", "2", "--out", str(out), check=True)
    return out


@pytest.mark.parametrize("task", ["xor", "parity4", "iris"])
def test_every_method_declares_a_space_of_the_same_size_defaults_first(task) -> None:
    for rule in ALL_RULES:
        space = search_space(task, rule)
        assert len(space) == SPACE_SIZE >= 8
        assert len({settings_json(c) for c in space}) == SPACE_SIZE, rule   # no duplicates
    assert search_space(task, "nelder-mead")[0] == {"step": 0.5, "stall_scale": 1.0}


def test_twins_space_is_its_probe_share_with_its_defaults_first() -> None:
    """twin tunes its identification's cost (the lr and restart axes act only after a
    missed transfer); its first configuration is the rule's defaults."""
    space = search_space("xor", "twin", "heldout")
    assert space[0]["rule_options"] == {"probe_share": 1.0}
    assert space[0]["lr"] == search_space("xor", "pat", "heldout")[0]["lr"]
    assert sorted({c["rule_options"]["probe_share"] for c in space}) == [0.125, 0.25, 0.5, 1.0]


def test_every_method_gets_the_same_tuning_budget() -> None:
    jobs = tuning_jobs(["xor"], ["wp", "twin", "cma-es", "bobyqa"], [700, 701, 702], "heldout",
                       {"xor": 1234}, "mock://")
    per_method = Counter(j.rule for j in jobs)
    assert set(per_method.values()) == {SPACE_SIZE * 3}
    assert {j.max_queries for j in jobs} == {1234}
    assert {j.seed for j in jobs} == {700, 701, 702}


@pytest.mark.slow
def test_the_tune_records_space_budget_seeds_and_choice(tuned) -> None:
    data = json.loads((tuned / "tuned.json").read_text())
    protocol = data["protocol"]
    assert protocol["tuning_seeds"] == [700, 701, 702]
    assert protocol["tuning_boards"] == [701, 702, 703]
    assert protocol["space_size"] == SPACE_SIZE and protocol["profile"] == "heldout"
    for rule in RULES.split(","):
        pick = data["candidates"]["xor"][rule]
        assert [c["runs"] for c in pick["candidates"]] == [3] * SPACE_SIZE
        assert data["chosen"]["xor"][rule] == pick["candidates"][pick["chosen_index"]]["settings"]
    runs = [json.loads(line) for line in (tuned / "runs.jsonl").read_text().splitlines()]
    assert Counter(r["rule"] for r in runs) == {"pat": 24, "nelder-mead": 24}
    assert "Tuning protocol" in (tuned / "tuning.md").read_text()


@pytest.mark.slow
def test_bench_learn_refuses_to_report_on_a_tuning_seed_in_one_line(tuned, tmp_path) -> None:
    out = tmp_path / "grid"
    proc = wphil("bench", "learn", "--tasks", "xor", "--rules", RULES, "--settings",
                 str(tuned / "tuned.json"), "--first-seed", "695", "--seeds", "6",
                 "--out", str(out), "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "seeds 700 were tuning seeds" in lines[0], proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_bench_learn_refuses_a_method_the_file_did_not_tune(tuned, tmp_path) -> None:
    proc = wphil("bench", "learn", "--tasks", "xor", "--rules", "wp", "--settings",
                 str(tuned / "tuned.json"), "--first-seed", "800", "--seeds", "1",
                 "--out", str(tmp_path / "grid"), "--no-progress")
    assert proc.returncode == 2 and "no tuned settings for xor/wp" in proc.stderr


@pytest.mark.slow
def test_the_tuned_settings_round_trip_into_bench_learn(tuned, tmp_path) -> None:
    out = tmp_path / "grid"
    chosen = json.loads((tuned / "tuned.json").read_text())["chosen"]["xor"]
    wphil("bench", "learn", "--tasks", "xor", "--rules", RULES, "--settings",
          str(tuned / "tuned.json"), "--first-seed", "800", "--seeds", "1", "--max-queries",
          "1500", "--profile", "heldout", "--out", str(out), "--no-progress", check=True)
    report = json.loads((out / "learn.json").read_text())
    assert report["tuned"]["chosen"]["xor"] == chosen
    for run in report["runs"]:
        assert json.loads(run["settings"]) == chosen[run["rule"]]
        # the same job run directly with the chosen settings gives the same run
        again = run_job(Job("heldout", "xor", run["rule"], 800, 1500,
                            settings=settings_json(chosen[run["rule"]])))
        assert (again["queries"], again["stop_reason"]) == (run["queries"], run["stop_reason"])
    assert "### Tuning protocol" in (out / "learn.md").read_text()


@pytest.mark.slow
def test_a_tiny_tune_picks_the_config_that_can_learn(monkeypatch) -> None:
    """pat with lr 1e-6 cannot move a weight by one DAC step within 400 queries; pat at its
    default lr reaches xor's target on mock:// in ~100-500 (module fixture's tune)."""
    from wphil.compare import tuning

    bench_lr = search_space("xor", "pat")[0]["lr"]
    space = [{"lr": 1e-6}, {"lr": bench_lr, "momentum": 0.8}]   # the known loser first
    monkeypatch.setattr(tuning, "search_space", lambda task, rule, profile="default": space)
    jobs = tuning.tuning_jobs(["xor"], ["pat"], [700, 701, 702], "heldout", {"xor": 2000},
                              "mock://")
    runs = run_grid(jobs)
    pick = select("xor", "pat", space, runs)
    assert pick["chosen"] == space[1] and pick["chosen_index"] == 1
    assert pick["candidates"][0]["successes"] == 0
    assert pick["candidates"][1]["successes"] == 3


def test_the_criterion_is_success_then_queries_then_loss_then_order() -> None:
    space = [{"step": 1.0}, {"step": 2.0}, {"step": 3.0}]

    def rows(config, converged, queries, loss=0.1):
        return [{"settings": settings_json(config), "status": "ok", "converged": c,
                 "queries": q, "max_queries": 1000, "loss": loss}
                for c, q in zip(converged, queries)]

    runs = (rows(space[0], [True, True, False], [10, 10, 1000])        # 2/3, fast
            + rows(space[1], [True, True, True], [500, 600, 700])     # 3/3, slow: wins
            + rows(space[2], [True, True, True], [500, 600, 700], 0.2))
    assert select("xor", "nelder-mead", space, runs)["chosen"] == space[1]
    tie = rows(space[0], [True], [5]) + rows(space[1], [True], [5]) + rows(space[2], [True], [5])
    assert select("xor", "nelder-mead", space, tie)["chosen"] == space[0]   # defaults win a tie



def _file(task: str, rules: dict, seeds=(700, 701, 702)) -> dict:
    protocol = {"space_size": SPACE_SIZE, "tuning_seeds": list(seeds), "profile": "heldout",
                "device": "mock://", "criterion": "c", "budgets": {task: 10},
                "budget_per_method": {task: "8 x 3 x 10"}}
    return {"format": "wphil-tuned-settings/1", "protocol": protocol,
            "chosen": {task: rules}, "candidates": {task: {r: {"status": "ok"} for r in rules}}}


def test_tuned_files_merge_per_task_and_method_under_one_protocol() -> None:
    from wphil.compare.tuning import merge_tuned
    from wphil.drivers.errors import ConfigError

    merged = merge_tuned([_file("xor", {"wp": {"lr": 1.0}}), _file("xor", {"bobyqa": {}}),
                          _file("iris", {"wp": {"lr": 2.0}})], "f")
    assert merged["chosen"] == {"xor": {"wp": {"lr": 1.0}, "bobyqa": {}},
                                "iris": {"wp": {"lr": 2.0}}}
    with pytest.raises(ConfigError, match="xor/wp tuned twice"):
        merge_tuned([_file("xor", {"wp": {}}), _file("xor", {"wp": {}})], "f")
    with pytest.raises(ConfigError, match="different protocols"):
        merge_tuned([_file("xor", {"wp": {}}), _file("iris", {"wp": {}}, (1, 2, 3))], "f")


def test_a_per_task_budget_overrides_the_common_one() -> None:
    import click

    from wphil.cli.compare import task_budget_map

    assert task_budget_map(["xor", "iris"], 500, ("iris=3000",)) == {"xor": 500, "iris": 3000}
    with pytest.raises(click.UsageError, match="--budget parity4=9"):
        task_budget_map(["xor"], None, ("parity4=9",))


@pytest.mark.slow
def test_redo_reruns_one_rule_and_keeps_the_others(tmp_path) -> None:
    out = tmp_path / "grid"
    args = ["bench", "learn", "--tasks", "xor", "--rules", "wp,nelder-mead", "--seeds", "1",
            "--max-queries", "300", "--no-progress", "--out", str(out)]
    wphil(*args, check=True)
    before = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    wphil(*args, "--resume", "--redo", "wp", check=True)
    after = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["rule"] for r in after] == ["nelder-mead", "wp"]    # kept, then rerun
    assert after[0] == before[1]
    report = json.loads((out / "learn.json").read_text())
    assert sorted(r["rule"] for r in report["runs"]) == ["nelder-mead", "wp"]
    proc = wphil(*args, "--redo", "wp")
    assert proc.returncode == 2 and "--redo needs --resume" in proc.stderr
