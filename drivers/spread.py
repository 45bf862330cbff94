"""How a datasheet-bounded part error is drawn for one board: [sim] part_spread.

The bench keys that describe a datasheet parameter (the MCP4728's gain and offset error,
INL and internal VREF in [sim]; the AD633's and the MCP6004's in [circuit]) mean one of:

    normal     the key is 1 sigma of a normal distribution (profile default: typical values)
    uniform    the key is the datasheet maximum; uniform over +-max (profile worst)
    truncated  the key is the datasheet maximum; normal with sigma = max / 3, truncated at
               +-max (redrawn beyond it, so the density is the normal's, renormalised)

Every draw is from the board's generator in a fixed order, so a board stays the same
board whatever else changes.
"""

from __future__ import annotations

import numpy as np

SPREADS = ("normal", "uniform", "truncated")
#: truncated: sigma = max / TRUNCATED_SIGMAS
TRUNCATED_SIGMAS = 3.0


def draw(rng: np.random.Generator, scale: float, size: int | tuple[int, ...] | None,
         spread: str) -> np.ndarray:
    """Errors of magnitude `scale` (a sigma or a maximum, as `spread` says), `size` of them."""
    if spread == "normal":
        return scale * rng.standard_normal(size)
    if spread == "uniform":
        return scale * rng.uniform(-1.0, 1.0, size)
    if spread == "truncated":
        z = rng.standard_normal(size)
        out = np.atleast_1d(z)
        while True:
            beyond = np.abs(out) > TRUNCATED_SIGMAS
            if not beyond.any():
                break
            out[beyond] = rng.standard_normal(int(beyond.sum()))
        return scale / TRUNCATED_SIGMAS * (out if np.ndim(z) else out[0])
    raise ValueError(f"unknown part spread {spread!r}; valid: {', '.join(SPREADS)}")


def signs_or_fractions(rng: np.random.Generator, size: int, spread: str) -> np.ndarray:
    """The sign (normal: +-1, the INL bow at its typical amplitude) or the fraction of the
    maximum amplitude (uniform, truncated: in -1..1) of each DAC channel's INL bow."""
    u = rng.random(size)
    if spread == "normal":
        return np.where(u < 0.5, -1.0, 1.0)
    if spread == "uniform":
        return 2.0 * u - 1.0
    # truncated: the normal's quantile of u, within +-3 sigma, in units of the maximum
    from statistics import NormalDist
    lo = NormalDist().cdf(-TRUNCATED_SIGMAS)
    inv = NormalDist().inv_cdf
    return np.array([inv(lo + (1 - 2 * lo) * x) for x in u]) / TRUNCATED_SIGMAS
