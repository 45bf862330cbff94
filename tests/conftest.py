"""Shared fixtures. `pytest --device URL` runs the tests marked `hardware` against a real
bench (e.g. /dev/ttyACM0); without it they are skipped."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.tiers import (  # noqa: F401 - pytest hooks: skipped tiers reported, CI fails
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
from wphil.drivers import load_bench, open_device


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default=None, help="device URL of a real bench for `hardware` tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--device"):
        return
    skip = pytest.mark.skip(reason="needs a real bench: pytest --device URL")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def hardware_url(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--device")


@pytest.fixture
def xor_bench():
    return load_bench("xor-2-2-1")


@pytest.fixture
def ideal_xor_bench():
    return load_bench("xor-2-2-1", profile="ideal")


@pytest.fixture
def ideal_mock(ideal_xor_bench):
    with open_device("mock://", ideal_xor_bench) as dev:
        yield dev


XOR_FEATURES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
