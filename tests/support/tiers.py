"""Test tiers that need something outside Python: reported when skipped, fatal in CI.

A tier is skipped with one line when its part is missing (rp2040://: node, rp2040js or the
MicroPython image; spice://: libngspice; labgrid://: labgrid and ser2net). A quiet skip
hides that a fresh clone never ran them, so the run ends with a line naming each skipped
tier and what it needs, and under `CI=true` (set by GitHub Actions, GitLab CI and most
others) a skipped tier fails the run.
Hooked into pytest by tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

#: tier -> the start of the skip reason its tests give
TIERS = {"rp2040://": "rp2040://", "spice://": "spice://", "labgrid://": "labgrid://"}
_SKIPPED: dict[str, list[str]] = {}


def _tier(reason: str) -> str | None:
    return next((tier for tier, prefix in TIERS.items() if reason.startswith(prefix)), None)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        tier = _tier(reason)
        if tier:
            _SKIPPED.setdefault(tier, []).append(reason)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    for tier, reasons in sorted(_SKIPPED.items()):
        verdict = "FAILED (CI=true)" if _in_ci() else "not run"
        terminalreporter.write_line(f"skipped tier {tier}: {len(reasons)} tests {verdict}: "
                                    f"{reasons[0]}", red=_in_ci(), yellow=not _in_ci())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and _in_ci() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
