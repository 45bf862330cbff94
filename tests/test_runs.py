"""Run directories: atomic checkpoints and metrics that survive a torn write."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wphil.learning.train import EpochRecord, TrainState
from wphil.runs.rundir import RunDir


def record(epoch: int) -> EpochRecord:
    return EpochRecord(epoch, 44 * epoch, 0.5 / epoch, 0.75, 0.01 * epoch, 0.4, 1.0)


def test_checkpoint_round_trips_the_whole_state(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", {"run": {"task": "xor"}})
    rng = np.random.Generator(np.random.PCG64(5))
    rng.random(3)
    state = TrainState(weights=np.arange(9.0), rng_state=rng.bit_generator.state,
                       optimizer={"velocity": np.ones(9)}, epoch=12, queries=528,
                       elapsed_s=1.5, loss=0.1, accuracy=0.75)
    run.save_checkpoint(state)
    back = run.load_checkpoint()
    assert np.array_equal(back.weights, state.weights) and back.rng_state == state.rng_state
    assert np.array_equal(back.optimizer["velocity"], np.ones(9))
    assert (back.epoch, back.queries, back.elapsed_s, back.accuracy) == (12, 528, 1.5, 0.75)
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_truncate_metrics_drops_rows_after_the_checkpoint_and_a_torn_line(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", {"run": {}})
    for epoch in range(1, 6):
        run.append(record(epoch))
    run.close()
    with open(tmp_path / "run" / "metrics.csv", "a") as f:
        f.write("6,264,0.08")                       # killed mid-row
    assert run.truncate_metrics(3) == 3
    assert [int(r["epoch"]) for r in run.metrics()] == [1, 2, 3]
    run.append(record(4))
    assert [int(r["epoch"]) for r in run.metrics()] == [1, 2, 3, 4]


def test_creating_over_an_existing_run_is_refused(tmp_path: Path) -> None:
    import pytest

    from wphil.drivers.errors import ConfigError
    RunDir.create(tmp_path / "run", {"run": {}})
    with pytest.raises(ConfigError, match="already exists .* --resume"):
        RunDir.create(tmp_path / "run", {"run": {}})


def test_a_new_run_that_fails_on_bad_input_before_its_first_epoch_leaves_nothing(
        tmp_path: Path) -> None:
    from dataclasses import replace

    import pytest

    from wphil.drivers.errors import ConfigError
    from wphil.runs import execute, new_spec
    spec = new_spec("mock://", epochs=3)
    bad = replace(spec, config=replace(spec.config, rounding="banana"))   # past new_spec's check
    rundir = RunDir.create(tmp_path / "runs" / "run", bad.to_config())
    with pytest.raises(ConfigError, match="rounding must be round or stochastic"):
        execute(bad, rundir)
    assert not (tmp_path / "runs").exists()


def test_a_resumed_run_is_trimmed_only_when_its_session_starts(tmp_path: Path) -> None:
    import pytest

    from wphil.drivers.errors import ConfigError
    from wphil.runs import prepare_resume
    run = RunDir.create(tmp_path / "run", {"run": {}})
    for epoch in range(1, 4):
        run.append(record(epoch))
    run.close()
    assert run.check_metrics(1) == 2 and len(run.metrics()) == 3      # a dry run
    with pytest.raises(ConfigError, match="incomplete"):
        prepare_resume(tmp_path / "run", None)           # {"run": {}} is no run's config
    RunDir.reopen(tmp_path / "run", lock=True).close()   # and the lock was released
