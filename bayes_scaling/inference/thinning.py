"""Fewer posterior draws where a chart or a check needs the shape of a distribution, not its tails.

Draws are kept evenly spaced over the chains laid end to end, so every chain is represented and
the same ``max_draws`` always keeps the same draws: a chart redrawn from a saved forecast is the
same chart.
"""

from __future__ import annotations

import numpy as np


def thin(values, max_draws: int) -> np.ndarray:
    """``values`` shaped (chain, draw, ...) flattened over chains and thinned to at most about
    ``max_draws`` draws, shaped (1, draw, ...) as a posterior array is."""
    array = np.asarray(values)
    flat = array.reshape(-1, *array.shape[2:])
    return flat[:: max(1, flat.shape[0] // max_draws)][None]


def thin_posterior(posterior, max_draws: int) -> dict[str, np.ndarray]:
    """Every variable of ``posterior`` (an xarray Dataset with chain and draw axes) thinned alike."""
    return {name: thin(values, max_draws) for name, values in posterior.data_vars.items()}
