"""Tasks: built-in datasets and CSV files, with clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wphil.drivers import load_bench
from wphil.drivers.errors import ConfigError
from wphil.learning.tasks import load_task


def test_builtin_tasks_have_the_right_shapes_and_labels() -> None:
    xor, p4, iris = load_task("xor"), load_task("parity4"), load_task("iris")
    assert xor.labels.tolist() == [0, 1, 1, 0] and xor.n_outputs == 1
    assert p4.features.shape == (16, 4)
    assert p4.labels.tolist() == [int(f.sum()) % 2 for f in p4.features]
    assert load_task("parity3").features.shape == (8, 3)
    assert iris.features.shape == (150, 4) and iris.n_outputs == 3
    assert np.bincount(iris.labels).tolist() == [50, 50, 50]
    assert iris.features.min() == 0 and iris.features.max() == 1


def test_targets_and_predictions_use_the_bench_calibration() -> None:
    bench = load_bench("iris")
    iris = load_task("iris")
    targets = iris.targets(bench)
    assert targets[0].tolist() == [0.6, -0.6, -0.6] and targets[-1].tolist() == [-0.6, -0.6, 0.6]
    assert np.array_equal(iris.predict(targets, bench), iris.labels)


def test_csv_task_with_header_and_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "and.csv"
    path.write_text("a,b,label\n0,0,no\n0,2,no\n1,0,no\n1,2,yes\n")
    task = load_task(str(path))
    assert task.name == "and" and task.classes == ("no", "yes")
    assert task.features.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert task.labels.tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("text,message", [
    ("1,2,a\n3,b\n", "row 2 has 2 columns, expected 3"),
    ("1,2,a\n3,x,b\n", "row 2 column 2: 'x' is not a number"),
    ("1,2,a\n3,4,a\n", "only one class"),
    ("1,2,a\n", "at least two data rows"),
])
def test_bad_csv_files_are_named_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_task(str(path))


def test_unknown_task_and_task_that_does_not_fit_the_bench() -> None:
    with pytest.raises(ConfigError, match="unknown task 'xnor'; valid: xor, parity3, parity4, iris"):
        load_task("xnor")
    with pytest.raises(ConfigError, match="task iris needs 4 inputs and 3 outputs; bench xor-2-2-1"):
        load_task("iris").check_fits(load_bench("xor-2-2-1"))
