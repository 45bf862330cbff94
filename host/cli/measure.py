"""How the CLI states a run's result: the measure its task is judged by.

Classification and temporal tasks are judged by accuracy (the fraction of patterns or scored
steps on the right side). A trajectory task (the oscillator) has no classes: it is judged by
the RMS error of the outputs against the target waveform, in mV and in ADC LSB, against the
run's own target (`target_loss`, a mean squared error in V^2).
"""

from __future__ import annotations

import math

from wphil.drivers.bench import Bench
from wphil.learning import SequenceTask, load_task


def is_trajectory(task: str) -> bool:
    """Whether `task` is judged by how closely its outputs follow a waveform."""
    try:
        loaded = load_task(task)
    except Exception:  # noqa: BLE001 - a task that no longer loads is reported by accuracy
        return False
    return isinstance(loaded, SequenceTask) and loaded.trajectory is not None


def adc_lsb_volts(bench: Bench) -> float:
    return bench.adc.vref / (1 << bench.adc.bits)


def rms_text(loss: float, lsb_volts: float) -> str:
    """`48 mV = 60 ADC LSB`: the RMS error of a mean squared error in V^2."""
    volts = math.sqrt(max(loss, 0.0))
    return f"{1000 * volts:.0f} mV = {volts / lsb_volts:.0f} ADC LSB"


def result_text(task: str, bench: Bench, loss: float | None, accuracy: float,
                target_loss: float) -> str:
    """`loss ... (RMS ...), accuracy ...%`, or for a trajectory its RMS error and target."""
    if loss is None:
        return f"loss n/a, accuracy {100 * accuracy:.1f}%"
    if not is_trajectory(task):
        # the loss is a mean squared error in V^2: its root is the error a scope would show
        return f"loss {loss:.4g} (RMS {1000 * math.sqrt(loss):.0f} mV), accuracy {100 * accuracy:.1f}%"
    lsb = adc_lsb_volts(bench)
    target = f" (target {rms_text(target_loss, lsb)})" if target_loss > 0 else ""
    return f"RMS error {rms_text(loss, lsb)} over the trajectory{target}, loss {loss:.4g}"
