"""Trend-reversal check: how probable is it that capability *falls* with compute in the data?

Capability laws here rise with compute by construction (the pass-rate law's k > 0; the
two-step law's falling task loss and rising sigmoid), so asking the fitted curve whether
it falls always answers no. Inverse scaling (the GPT-4 report's Hindsight Neglect) shows
up in the runs themselves, so the check is made on them: for every posterior draw, each
fitted run's realised performance (its accuracy, or its mean pass rate over a bucket's
problems, with the measurement uncertainty the law gives it) is regressed on log10
compute by least squares, and ``prob_falls`` is the share of draws whose slope is
negative. Two windows: the whole fitted range, and the runs at the ``TOP_COMPUTES``
largest distinct computes, where a reversal that would matter for the forecast starts.

What it does not see: with two or three runs at the top, a falling slope can be one
unlucky seed; the check says the measured runs fall, not why. A ``TrendReversalWarning``
is issued when the headline quantity (all problems, or accuracy) falls with probability
at least ``REVERSAL_PROB`` in either window.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes_scaling.laws import get_law
from bayes_scaling.inference.thinning import thin_posterior

REVERSAL_PROB = 0.9
TOP_COMPUTES = 3
MAX_DRAWS = 1000


class TrendReversalWarning(UserWarning):
    """The fitted runs' capability falls with compute: a monotone law may be the wrong model.

    Issued by ``bs.forecast`` for a capability law (``law="pass_rate"``,
    ``law="two_step"``) when the headline quantity (all problems, or accuracy) of the
    fitted runs falls with compute with probability at least 0.9, over the whole fitted
    range or over the runs at the three largest distinct computes. The law assumes
    capability rises with compute, so its forecast cannot follow this. With two or three
    runs at the top, a falling slope can be one unlucky seed: the check says the measured
    runs fall, not why. ``fc.trend_reversal`` has the numbers (docs/trend-reversal.md).
    """


def check(fc) -> pd.DataFrame | None:
    """One row per quantity (and bucket) and window; None for laws without capability data.

    Columns: quantity, [bucket,] window, from_compute, to_compute, runs,
    slope_per_decade (posterior median of the change per 10× compute), prob_falls.
    """
    law = get_law(fc.law)
    if law.run_performance is None:
        return None
    posterior = thin_posterior(fc.idata.posterior, MAX_DRAWS)
    rng = np.random.default_rng([fc.settings["seed"], 2])
    compute, performance = law.run_performance(posterior, fc.idata.constant_data, fc.runs, fc.settings["options"], rng)
    log_compute = np.log10(np.asarray(compute, dtype=float))
    distinct = np.unique(log_compute)
    windows = {"fitted range": np.ones_like(log_compute, dtype=bool)}
    if distinct.size > TOP_COMPUTES:
        windows["largest runs"] = log_compute >= distinct[-TOP_COMPUTES]
    rows = []
    for name, draws in performance.items():
        draws = draws.reshape(-1, *draws.shape[2:])  # (draw, run[, bucket])
        labels = [None] if draws.ndim == 2 else list(law.bucket_labels(fc.settings["options"]))
        for i, label in enumerate(labels):
            values = draws if label is None else draws[..., i]
            for window, kept in windows.items():
                slope = _slopes(log_compute[kept], values[:, kept])
                rows.append(
                    {
                        "quantity": name,
                        **({} if label is None else {"bucket": label}),
                        "window": window,
                        "from_compute": float(10 ** log_compute[kept].min()),
                        "to_compute": float(10 ** log_compute[kept].max()),
                        "runs": int(kept.sum()),
                        "slope_per_decade": float(np.median(slope)),
                        "prob_falls": float((slope < 0).mean()),
                    }
                )
    return pd.DataFrame(rows)


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the headline quantity (all problems for per-bucket laws)."""
    rows = frame[frame["quantity"] == frame["quantity"].iloc[0]]
    return rows[rows["bucket"] == "all"] if "bucket" in rows else rows


def describe(row) -> str:
    where = f"{row['quantity']}" + (f" (bucket {row['bucket']})" if "bucket" in row and isinstance(row["bucket"], str) else "")
    return (
        f"{where} falls with compute over the {row['window']} ({row['from_compute']:.3g}–{row['to_compute']:.3g} FLOPs, "
        f"{row['runs']} runs) with probability {row['prob_falls']:.0%} (median slope {row['slope_per_decade']:+.4g} per 10× compute)"
    )


def warn_if_reversing(fc, stacklevel: int = 3) -> None:
    frame = fc.trend_reversal
    if frame is None:
        return
    falling = headline(frame)
    falling = falling[falling["prob_falls"] >= REVERSAL_PROB]
    if len(falling):
        warnings.warn(
            "trend reversal: "
            + "; ".join(describe(row) for _, row in falling.iterrows())
            + ". The law assumes capability rises with compute, so its forecast cannot follow this; "
            "see fc.trend_reversal and docs/trend-reversal.md",
            TrendReversalWarning,
            stacklevel=stacklevel,
        )


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``y`` on ``x``."""
    centred = x - x.mean()
    return (y - y.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)
