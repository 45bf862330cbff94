"""The lab in a box as a pytest fixture: a real labgrid coordinator, exporters and ser2net,
with simulated Picos (wphil.lab.farm). Skipped with a `labgrid://` reason (a test tier,
fatal under CI=true: tests/support/tiers.py) when labgrid or ser2net is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest


def missing() -> str | None:
    if importlib.util.find_spec("labgrid") is None:
        return "labgrid:// needs labgrid: pip install -e '.[labgrid]'"
    if not (shutil.which("ser2net") or os.path.exists("/usr/sbin/ser2net")):
        return "labgrid:// needs ser2net (apt-get install ser2net)"
    if importlib.util.find_spec("micropython_unix") is None:
        return "labgrid:// (the farm's boards) needs the MicroPython unix port"
    return None


def farm_of(n: int, **options) -> Iterator:
    """A started farm of `n` boards (Farm's `options`), stopped (every process) when the
    test is done."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from wphil.drivers import load_bench
    from wphil.lab.farm import Farm

    lab = Farm(n, load_bench("xor-2-2-1"), **options).start()
    try:
        yield lab
    finally:
        lab.stop()


def holder(lab, place: str) -> str | None:  # noqa: ANN001 - a wphil.lab.Farm
    """Who holds `place` on the farm's coordinator ("host/user"), or None."""
    from wphil.drivers.labgrid_place import Coordinator

    coord = Coordinator.connect(lab.coordinator)
    try:
        return coord.state(place).holder
    finally:
        coord.close()
