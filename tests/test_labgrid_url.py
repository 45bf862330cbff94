"""labgrid://PLACE without a coordinator: the URL is checked where it enters, and an
install without the labgrid extra refuses it in one line (pyserial-only installs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_default_install import _run_blocked
from wphil.drivers import ConfigError, check_url


@pytest.mark.parametrize(("url", "says"), [
    ("labgrid://", "names one place"),
    ("labgrid://bench1/extra", "names one place"),
    ("labgrid://bench1?speed=9", "unknown option 'speed'"),
    ("labgrid://bench1?wait=-1", "wait='-1' must be a number >= 0"),
    ("labgrid://bench1?transport=usb", "must be rfc2217 or raw"),
])
def test_a_bad_labgrid_url_is_refused_before_any_coordinator_is_asked(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        check_url(url)


def test_a_good_labgrid_url_passes_the_check_without_a_coordinator() -> None:
    check_url("labgrid://bench1?coordinator=10.0.0.1:20408&wait=30&transport=raw&reconnect=5")


@pytest.mark.slow
def test_without_the_labgrid_extra_labgrid_urls_are_refused_in_one_line(tmp_path: Path) -> None:
    done = _run_blocked({"labgrid"}, "train", "--device", "labgrid://bench1", "--out", "run",
                        cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'wphil[labgrid]'" in done.stderr and not (tmp_path / "run").exists()
