"""Where each neuron's weights sit in the bench's weight vector (shared by node and swnp).

Weights are ordered layer by layer, unit by unit, the unit's inputs first, then its bias
(drivers/bench.py). A neuron's fan-in is therefore one contiguous slice whose last entry
is the bias weight: perturbing that weight by d moves the neuron's input by d * bias_volts.
"""

from __future__ import annotations

from dataclasses import dataclass

from wphil.drivers.bench import Bench


@dataclass(frozen=True)
class Neuron:
    layer: int          # 0 = first non-input layer
    unit: int           # index within its layer
    fan_in: slice       # its weights (inputs, then bias) in the weight vector

    @property
    def bias(self) -> int:
        """Index of its bias weight."""
        return self.fan_in.stop - 1


def neurons(bench: Bench) -> list[Neuron]:
    """Every non-input neuron of the bench, in weight order."""
    out, start = [], 0
    for layer, (units, fan_in) in enumerate(bench.layer_shapes):
        for unit in range(units):
            out.append(Neuron(layer, unit, slice(start, start + fan_in)))
            start += fan_in
    return out
