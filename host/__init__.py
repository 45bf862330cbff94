"""wphil: hardware-in-the-loop training of analog neural networks by weight perturbation.

The public API (everything else may change between versions):

    import wphil
    bench = wphil.load_bench("xor-2-2-1", profile="default")     # a built-in name or a TOML file
    with wphil.open_device("mock://?board_seed=3", bench) as dev:  # any device URL
        outputs = dev.evaluate(inputs_as_dac_codes, codes=weight_codes)
    run = wphil.train(device="mock://", bench="xor-2-2-1", algo="wp")
    for record in run:                                           # EpochRecords, as they come
        ...
    run.summary                                                  # the run's summary.json
    wphil.Run(run.path).metrics                                  # numpy structured array

Errors: `wphil.ConfigError` (bad input: a `ValueError`), `wphil.DeviceError` (the device),
both `wphil.WphilError`.

The package is laid out by concern: `wphil.drivers` (devices), `wphil.firmware` (the Pico's
MicroPython), `wphil.learning`, `wphil.runs`, `wphil.lab`, `wphil.compare` and `wphil.cli`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use, so `import wphil` is cheap
#: and `wphil.firmware.protocol` can be imported without the host's dependencies)
_EXPORTS = {
    "open_device": "wphil.drivers",
    "load_bench": "wphil.drivers",
    "Bench": "wphil.drivers",
    "Device": "wphil.drivers",
    "train": "wphil.runs.training",
    "Training": "wphil.runs.training",
    "Run": "wphil.runs.reader",
    "WphilError": "wphil.drivers.errors",
    "ConfigError": "wphil.drivers.errors",
    "DeviceError": "wphil.drivers.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wphil' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
