"""How a forecast is scored against what happened: coverage, error, PIT and CRPS.

From draws (``score_draws``: the backtest and the verdict's self-backtest) or from the stored
percentiles of a registered prediction (``pit_from_quantiles``: the registry).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.intervals import interval_columns


def score_draws(draws: np.ndarray, actual: np.ndarray, point: np.ndarray | None = None) -> pd.DataFrame:
    """Score draws (n_draws, n_targets) against the actual values, one row per target.

    ``abs_pct_error`` is that of the point forecast: ``point`` when given (curve_fit's
    own fit, for the bootstrap baseline), else the median of the draws. PIT is the share of draws below the actual; CRPS is the energy form
    ``E|X - y| - ½·E|X - X'|`` over the draws (exact for the empirical distribution).
    """
    draws = np.asarray(draws, dtype=float)
    actual = np.asarray(actual, dtype=float)
    q = interval_columns(draws)
    n = draws.shape[0]
    ordered = np.sort(draws, axis=0)
    spread = (2 * np.arange(1, n + 1) - n - 1) @ ordered * 2 / n**2  # E|X - X'|
    return pd.DataFrame(
        {
            **q,
            "covered_50": (q["lower_50"] <= actual) & (actual <= q["upper_50"]),
            "covered_90": (q["lower_90"] <= actual) & (actual <= q["upper_90"]),
            "abs_pct_error": np.abs((q["median"] if point is None else point) / actual - 1) * 100,
            "pit": (draws < actual).mean(axis=0),
            "crps": np.abs(draws - actual).mean(axis=0) - 0.5 * spread,
        }
    )


def pit_from_quantiles(quantiles, actual: float, levels) -> float:
    """The predictive CDF at ``actual``, interpolated between stored ``quantiles`` at ``levels``;
    beyond the outermost, half the level left outside (0.005 and 0.995 for the 1st..99th percentiles)."""
    q = np.asarray(quantiles, dtype=float)
    if actual < q[0]:
        return float(levels[0]) / 2
    if actual > q[-1]:
        return 1 - (1 - float(levels[-1])) / 2
    return float(np.interp(actual, q, levels))
