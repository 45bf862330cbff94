"""The drivers against real instruments, read-only: nothing is switched or set.

    WPHIL_DMM=TCPIP0::192.168.1.20::5025::SOCKET WPHIL_PSU=USB0::0x1AB1::0x0E11::DP8C1::INSTR pytest \\
        tests/test_instruments_with_device.py

Skipped unless the environment names the instruments (PyMeasure's `*_with_device` tests).
"""

from __future__ import annotations

import math
import os
from contextlib import closing

import pytest

from wphil.drivers.instruments import Keysight34461A, RigolDP832, open_instrument

DMM, PSU = os.environ.get("WPHIL_DMM"), os.environ.get("WPHIL_PSU")


@pytest.mark.skipif(not DMM, reason="set WPHIL_DMM=RESOURCE to test a real 34461A-class DMM")
def test_real_dmm_identifies_reads_and_has_an_empty_error_queue() -> None:
    with closing(open_instrument(Keysight34461A, DMM)) as dmm:
        dmm.clear()
        assert math.isfinite(dmm.voltage_dc)
        assert dmm.nplc in (0.02, 0.2, 1.0, 10.0, 100.0)
        dmm.check_errors()


@pytest.mark.skipif(not PSU, reason="set WPHIL_PSU=RESOURCE to test a real DP832-class supply")
def test_real_supply_reports_every_output_without_changing_it() -> None:
    with closing(open_instrument(RigolDP832, PSU)) as psu:
        psu.clear()
        for ch in (1, 2, 3):
            out = psu.output(ch)
            assert isinstance(out.enabled, bool) and out.mode in ("CV", "CC", "UR")
            assert 0 <= out.voltage <= 30 and out.measured_current >= -0.01
        psu.check_errors()
