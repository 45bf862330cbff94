"""What a bench can resolve, for the peers' tolerances and stopping rules: one DAC step in
weight units, and the noise of one measured whole-set loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wphil.learning import Objective


@dataclass(frozen=True)
class Resolution:
    """What the bench can resolve, for the optimizers' tolerances: one DAC step (weight
    units), the read-noise power (V^2 per reading, after oversampling, with quantization),
    the readings in one whole-set loss, and the loss of an undecided network (every output
    at the class threshold: where the small initial weights start)."""

    weight: float
    loss: float
    relative_loss: float
    readings: int = 1
    undecided: float = 0.0

    @classmethod
    def of(cls, objective: Objective) -> Resolution:
        bench = objective.bench
        lsb_volts = bench.adc.vref / (1 << bench.adc.bits)
        noise = bench.sim.read_noise_volts ** 2 / bench.adc.oversample + lsb_volts ** 2 / 12
        scale = bench.defaults.target_loss or 0.01
        undecided = float(np.mean((objective.threshold - objective.targets) ** 2))
        return cls(float(np.max(objective.codemap.weight_lsb)), float(noise),
                   float(min(noise / scale, 0.1)), objective.targets.size, undecided)

    def loss_sd(self, level: float) -> float:
        """Standard deviation of one measured whole-set loss whose true value is `level`:
        L = mean over N readings of (o + n - t)^2 with n ~ N(0, s^2) has variance
        (4 s^2 L + 2 s^4) / N."""
        return float(np.sqrt((4 * self.loss * level + 2 * self.loss ** 2) / self.readings))
