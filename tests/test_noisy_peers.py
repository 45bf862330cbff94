"""nevergrad's NGOpt and Py-BOBYQA as peers, and every peer's restarts from fresh points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_default_install import BLOCKED_CLI
from wphil.compare.benchmark import Job, run_job
from wphil.compare.peers import DeviceLoss, PeerOptimizer, initial_weights
from wphil.drivers import open_device
from wphil.learning.codes import CodeMap
from wphil.learning.objective import Objective
from wphil.learning.tasks import load_task


@pytest.mark.slow
def test_bobyqa_reaches_the_xor_target_on_an_unseen_board() -> None:
    run = run_job(Job("default", "xor", "bobyqa", 200, 20_000))
    assert run["status"] == "ok", run.get("why")
    assert run["converged"] and run["accuracy"] == 1.0
    assert run["queries"] < 20_000


@pytest.mark.slow
def test_ngopt_reaches_the_xor_target_and_records_its_choice() -> None:
    run = run_job(Job("default", "xor", "ngopt", 201, 20_000))
    assert run["status"] == "ok", run.get("why")
    assert run["converged"] and run["accuracy"] == 1.0
    assert run["algorithm"]                  # what NGOpt chose for this budget and dimension


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["ngopt", "bobyqa"])
def test_the_same_seed_spends_the_same_queries(rule: str) -> None:
    runs = [run_job(Job("default", "xor", rule, 201, 600)) for _ in range(2)]
    assert runs[0]["status"] == "ok", runs[0].get("why")
    assert runs[0]["queries"] == runs[1]["queries"]
    assert runs[0]["loss"] == runs[1]["loss"]


class Stuck(PeerOptimizer):
    """A planted optimizer that measures its starting point over and over: it never
    improves, so the stagnation rule must end each start."""

    name = "stuck"
    STALL_MIN, STALL_PER_WEIGHT = 5, 0

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[np.ndarray] = []

    def search(self, loss, x0, lo, hi, seed) -> None:
        self.starts.append(np.array(x0))
        while True:
            loss(x0)


def test_a_stagnating_peer_restarts_from_a_fresh_point_not_its_incumbent(ideal_xor_bench) -> None:
    with open_device("mock://", ideal_xor_bench) as dev:
        objective = Objective(dev, ideal_xor_bench, load_task("xor"), CodeMap(ideal_xor_bench))
        loss = DeviceLoss(objective, target_accuracy=1.0, target_loss=1e-9, max_queries=4 * 5 * 3)
        lo, hi = objective.codemap.weight_bounds()
        peer = Stuck()
        result = peer.run(loss, initial_weights(objective, 0.8, 7), lo, hi, 7, 0.8)
    assert result.stop_reason == "max_queries"
    assert result.restarts == result.stagnations == 2 == len(peer.starts) - 1
    draws = np.random.Generator(np.random.PCG64(7)).uniform(-0.8, 0.8, (3, 9))
    np.testing.assert_allclose(peer.starts, np.clip(draws, lo, hi))
    assert not np.allclose(peer.starts[1], loss.best_weights)   # not from the incumbent


@pytest.mark.parametrize(("rule", "package"), [("ngopt", "nevergrad"), ("bobyqa", "pybobyqa")])
def test_a_peer_without_its_package_is_refused_in_one_line_naming_the_extra(
        tmp_path: Path, rule: str, package: str) -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKED_CLI, package, "bench", "learn",
                           "--tasks", "xor", "--rules", rule, "--seeds", "1", "--out", "grid"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and package in lines[0] and "wphil[bench]" in lines[0], done.stderr
    assert list(tmp_path.iterdir()) == []
