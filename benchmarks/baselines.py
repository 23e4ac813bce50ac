"""What people use today, shared by the benchmarks: scipy ``curve_fit`` with a bootstrap."""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

BOOTSTRAPS = 1000


def curve_fit_bootstrap_draws(curve, x, y, x_new, p0, bounds, rng, resamples: int = BOOTSTRAPS):
    """Point fit of ``curve`` and its values at ``x_new`` refitted on resamples of the points.

    Resamples with fewer than 3 distinct ``x`` or a failed fit are skipped. Returns
    (point prediction at ``x_new``, array of bootstrap predictions (resample, x_new)).
    """
    params, _ = curve_fit(curve, x, y, p0=p0, bounds=bounds, maxfev=20000)
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, len(x), len(x))
        if np.unique(x[pick]).size < 3:
            continue
        try:
            refit, _ = curve_fit(curve, x[pick], y[pick], p0=params, bounds=bounds, maxfev=20000)
        except RuntimeError:
            continue
        draws.append(curve(x_new, *refit))
    return curve(x_new, *params), np.array(draws)
