"""Summaries of posterior draws that every output shares: equal-tailed intervals, and the median
with the 50% and 90% bounds that tables, charts, reports and backtests show.

One home for the levels, so a table's ``lower_90`` and a chart's pale band are the same numbers.
Equal-tailed (not HDI), so that ``P(below lower) = P(above upper) = (1 - prob)/2``: the same tails
``prob_below`` and ``prob_above`` speak of.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# column name -> quantile, in the order tables show them
LEVELS = {"median": 0.5, "lower_50": 0.25, "upper_50": 0.75, "lower_90": 0.05, "upper_90": 0.95}


def central_interval(draws, prob: float = 0.9, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)``: the equal-tailed ``prob`` interval of ``draws`` along ``axis``."""
    if not 0 < prob < 1:
        raise ValueError(f"prob must lie in (0, 1), got {prob!r}")
    lower, upper = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=axis)
    return lower, upper


def interval_columns(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Median and equal-tailed 50% and 90% bounds of draws (n_draws, n_targets), by column name."""
    return dict(zip(LEVELS, np.quantile(draws, list(LEVELS.values()), axis=0)))


def interval_frame(draws: np.ndarray, **columns) -> pd.DataFrame:
    """``columns`` (e.g. ``compute=targets``), then the mean and ``interval_columns`` of draws (n_draws, n_targets)."""
    return pd.DataFrame({**columns, "mean": draws.mean(axis=0), **interval_columns(draws)})
