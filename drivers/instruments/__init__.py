"""Bench instruments over pyvisa: a DMM (Keysight 34461A class) and a power supply (Rigol DP832
class), declared in the style of PyMeasure on a small SCPI base (`scpi`), opened by resource
name (`visa`), with pyvisa-sim definitions (sim/instruments.yaml), a simulated DMM wired to the
mock device (`probe`), the bench's supply rails (`rails`) and transcript tests (`transcript`).
"""

from wphil.drivers.instruments.keysight34461a import Keysight34461A
from wphil.drivers.instruments.rigol_dp832 import RigolDP832
from wphil.drivers.instruments.visa import open_instrument, split_backend

__all__ = ["Keysight34461A", "RigolDP832", "open_instrument", "split_backend"]
