"""Runs: run directories written so nothing is lost, training sessions that fill them,
evaluation of a finished run on a device, and `Run`, the reader for notebooks.

What other parts of wphil use is imported here; the modules themselves are internal.
"""

from wphil.runs.evaluate import evaluate_run
from wphil.runs.rundir import LOG, RunDir, atomic_write
from wphil.runs.session import (
    RunSpec,
    default_out,
    execute,
    new_spec,
    open_run_device,
    prepare_resume,
    records,
)
from wphil.runs.settings import RESUMABLE, SETTINGS, UNLIMITED_EPOCHS

__all__ = ["LOG", "RESUMABLE", "SETTINGS", "UNLIMITED_EPOCHS", "RunDir", "RunSpec", "atomic_write",
           "default_out", "evaluate_run", "execute", "new_spec", "open_run_device",
           "prepare_resume", "records"]
