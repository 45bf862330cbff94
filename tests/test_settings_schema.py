"""One settings schema: the bench's [defaults], the range checks of the CLI and the API,
resume and the docs all read wphil.drivers.training_settings, with one range per setting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

from wphil.cli.train import train as train_command
from wphil.drivers.bench import bench_from_dict
from wphil.drivers.bench_files import load_bench
from wphil.drivers.bench_tables import Defaults
from wphil.drivers.errors import ConfigError
from wphil.drivers.training_settings import RESUMABLE, SETTINGS, check_setting, option_name
from wphil.learning.rules import RULES
from wphil.learning.train import TrainConfig
from wphil.learning.trainers import TRAINERS
from wphil.runs.settings_doc import COMMAND, PAGE, settings_markdown

ROOT = Path(__file__).resolve().parents[1]

#: (setting, a value every reader accepts, a value every reader refuses): the edges where
#: the six copies disagreed (momentum <= 0.999 vs < 1; lr >= 1e-9 vs > 0)
EDGES = [("momentum", 0.9995, 1.0), ("lr", 1e-12, 0.0), ("pert", 1e-12, 0.0),
         ("lr", 1e6, 1.5e6), ("target_accuracy", 1.0, 1.0001), ("init_scale", 0.0, -0.1),
         ("batch_size", 0, -1), ("epochs", 1, 0), ("restart_after", 0, -1)]


def _bench_accepts(name: str, value: float) -> bool:
    data = load_bench("xor-2-2-1").to_dict()
    data["defaults"][name] = value
    try:
        bench_from_dict(data)
    except ConfigError:
        return False
    return True


def _cli_accepts(name: str, value: float) -> bool:
    option = next(p for p in train_command.params if p.name == name)
    try:
        option.type.convert(str(value), option, None)
    except click.BadParameter:
        return False
    return True


def _check_accepts(name: str, value: float) -> bool:
    try:
        check_setting(name, value)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("name,inside,outside", EDGES)
def test_bench_cli_and_api_share_one_range_per_setting(name: str, inside: float,
                                                       outside: float) -> None:
    assert _bench_accepts(name, inside) and _cli_accepts(name, inside) and _check_accepts(name, inside)
    assert not (_bench_accepts(name, outside) or _cli_accepts(name, outside)
                or _check_accepts(name, outside))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "0.5"])
def test_settings_refuse_nan_infinities_and_wrong_types(value: object) -> None:
    with pytest.raises(ConfigError, match="--lr"):
        check_setting("lr", value)


def test_train_config_bench_defaults_and_cli_options_are_the_schema() -> None:
    config_fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"rule_options"}
    assert config_fields == set(SETTINGS)
    bench_keys = {n for n, f in SETTINGS.items() if f.metadata["bench"]}
    assert {f.name for f in dataclasses.fields(Defaults)} == bench_keys | {"pattern_lr"}
    options = {p.name for p in train_command.params}
    assert {n for n, f in SETTINGS.items() if f.metadata["cli"]} <= options
    assert set(RESUMABLE) == {"epochs", "max_queries", "target_accuracy", "target_loss"}
    for name, f in SETTINGS.items():
        assert getattr(TrainConfig(), name) == f.default


def test_the_docs_page_is_the_schema_rendered() -> None:
    committed = (ROOT / PAGE).read_text(encoding="utf-8")
    assert committed == settings_markdown(), f"docs page out of date: run {COMMAND}"
    assert COMMAND in committed.splitlines()[0]


def test_every_rule_declares_a_trainer_that_exists() -> None:
    assert {rule.trainer for rule in RULES.values()} <= set(TRAINERS)
    assert RULES["twin"].trainer == "twin" and RULES["offline"].trainer == "offline"


@pytest.mark.parametrize("name,value,problem", [
    ("epochs", 0, "must be >= 1"),                          # the upper end is only a cap
    ("max_queries", -1, "must be >= 0"),
    ("batch_size", -1, "is out of range: must be in 0..1000000"),
])
def test_the_cli_and_the_api_refuse_a_count_in_the_same_words(name: str, value: int,
                                                             problem: str) -> None:
    option = next(p for p in train_command.params if p.name == name)
    with pytest.raises(click.BadParameter, match=f"^{value} {problem}$"):
        option.type.convert(str(value), option, None)
    with pytest.raises(ConfigError, match=f"^{option_name(name)} {value}: {problem}$"):
        check_setting(name, value)
