"""Sequence tasks for recurrent benches: a temporal task and a trajectory task.

A sequence task is a set of input sequences (features in [0, 1] per step, mapped to input
volts by the bench) with a target per step. Not every step is scored: the first steps of
a temporal task have no answer yet, and an oscillator needs a few steps to leave its
reset state. One query is one sampled step of one sequence (as one query is one forward
pass of one pattern for feed-forward tasks), scored or not.

- `delayed-xor`: one input bit per step; the output sampled at the end of step t is the
  XOR of the inputs of steps t and t-1 (high/low target volts as for XOR), scored from
  t = 1. The ADC samples at the instant the next input is written, so counted in sample
  instants it is the XOR of the two inputs before it. (The XOR of t-1 and t-2 *excluding*
  the input held during the step did not train even by BPTT on the ideal 1-3-1 network:
  an RC network without sample-and-hold cannot keep the current input out.) The training
  sequence holds every 3-bit window.
- `oscillator`: no input; two outputs follow A sin(wt) and A cos(wt), `PERIOD_STEPS`
  steps per period, sampled at the end of each step, scored after the first quarter
  period. Accuracy here is the fraction of scored samples within `TOLERANCE_VOLTS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.drivers.bench import Bench
from wphil.drivers.errors import ConfigError

SEQUENCE_TASKS = ("delayed-xor", "oscillator")
#: every 3-bit window occurs (a de Bruijn sequence B(2, 3), then more of the same windows)
XOR_BITS = (0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1)
PERIOD_STEPS = 16
OSCILLATOR_STEPS = 32
OSCILLATOR_VOLTS = 0.4
TOLERANCE_VOLTS = 0.05


@dataclass(frozen=True)
class SequenceTask:
    name: str
    features: np.ndarray          # (S, T, n_in) in [0, 1]
    scored: np.ndarray            # (T,) bool: the steps the loss counts
    labels: np.ndarray | None     # (S, T) class per step (temporal tasks), else None
    trajectory: np.ndarray | None  # (S, T, n_out) target volts (trajectory tasks), else None
    n_outputs: int

    @property
    def steps(self) -> int:
        return self.features.shape[1]

    def check_fits(self, bench: Bench) -> None:
        if not bench.is_recurrent:
            raise ConfigError(f"task {self.name} is a sequence task: bench {bench.name} is "
                              "feed-forward (a recurrent bench has [recurrent] tau_us)")
        want = (self.features.shape[2], self.n_outputs)
        have = (bench.n_inputs, bench.n_outputs)
        if want != have:
            raise ConfigError(f"task {self.name} needs {want[0]} inputs and {want[1]} outputs; "
                              f"bench {bench.name} has {have[0]} and {have[1]}")

    def targets(self, bench: Bench) -> np.ndarray:
        """Target output volts (S, T, n_outputs)."""
        if self.trajectory is not None:
            return self.trajectory
        low, high = bench.calibration.targets
        return np.where(self.labels[..., None] == 1, high, low).astype(float)

    def correct(self, outputs: np.ndarray, bench: Bench) -> np.ndarray:
        """Whether each scored sample is right, (..., S, scored steps): the class for temporal
        tasks, within TOLERANCE_VOLTS on every output for trajectories."""
        out = outputs[..., self.scored, :]
        if self.labels is None:
            return np.all(np.abs(out - self.trajectory[:, self.scored]) <= TOLERANCE_VOLTS, axis=-1)
        predicted = out[..., 0] > sum(bench.calibration.targets) / 2
        return predicted == (self.labels[:, self.scored] == 1)


def delayed_xor() -> SequenceTask:
    bits = np.array(XOR_BITS)
    labels = np.zeros(len(bits), dtype=np.int64)
    labels[1:] = bits[1:] ^ bits[:-1]
    scored = np.arange(len(bits)) >= 1
    return SequenceTask("delayed-xor", bits[None, :, None].astype(float), scored, labels[None],
                        None, 1)


def oscillator() -> SequenceTask:
    phase = 2 * np.pi * np.arange(1, OSCILLATOR_STEPS + 1) / PERIOD_STEPS
    wave = OSCILLATOR_VOLTS * np.stack([np.sin(phase), 1 - np.cos(phase)], axis=-1)
    scored = np.ones(OSCILLATOR_STEPS, dtype=bool)
    return SequenceTask("oscillator", np.zeros((1, OSCILLATOR_STEPS, 0)), scored, None,
                        wave[None], 2)


def load_sequence_task(name: str) -> SequenceTask:
    return {"delayed-xor": delayed_xor, "oscillator": oscillator}[name]()
