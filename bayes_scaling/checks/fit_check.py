"""Posterior-predictive check of the fitted runs: the data against the fitted curve, with residuals.

For a law whose observations are what it forecasts (a loss, an accuracy), every fitted run
is predicted from the posterior at its own compute (and size, for the Chinchilla law): the
median of the mean curve, the 90% predictive interval for one run there, the residual of
the observed value from the curve, and its PIT (the share of predictive draws below it).
A calibrated fit has about 90% of its runs inside their intervals and residuals with no
pattern.

``curvature`` asks whether the residuals bend with compute: the standardised residuals
are regressed on log compute and its square, and a quadratic term at least
``CURVATURE_T`` standard errors from zero means the runs curve away from the law's shape
(for example, the largest runs falling faster than a power law). That is where a
forecast far beyond the ladder is most likely wrong, and the interval does not know it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.intervals import central_interval
from bayes_scaling.laws import get_law
from bayes_scaling.inference.thinning import thin_posterior
from bayes_scaling.checks.trend_reversal import MAX_DRAWS  # the same draws the trend check reads

CURVATURE_T = 3.5  # |t| of the quadratic term; p < 0.01 two-sided for 9 runs (t with 6 df) under no curvature
MIN_COMPUTES = 5  # distinct computes a curvature test needs (3 coefficients, and some left over)


def applies(fc) -> bool:
    """Whether the law's observed column is one of the quantities it forecasts (not per-problem counts)."""
    law = get_law(fc.law)
    return fc.bucket_labels is None and law.observed in fc.quantities


def posterior_predictive(fc) -> pd.DataFrame | None:
    """One row per fitted run: compute, [run,] observed, median (of the mean curve), lower_90,
    upper_90 (predictive, one run), residual_pct (observed against the curve), pit, z (standardised
    residual). None where the law's observations are not what it forecasts (pass counts)."""
    if not applies(fc):
        return None
    law = get_law(fc.law)
    runs = fc.runs
    observed = runs[law.observed].to_numpy(dtype=float)
    targets = law.targets_of(runs)
    rng = np.random.default_rng([fc.settings["seed"], 3])
    predicted = law.predict(thin_posterior(fc.idata.posterior, MAX_DRAWS), fc.idata.constant_data, fc.settings["options"], targets, rng)
    quantity = law.observed
    draws = predicted[quantity].reshape(-1, len(runs))
    mean_name = f"mean_{quantity}"
    curve = predicted[mean_name].reshape(-1, len(runs)) if mean_name in predicted else draws
    median_curve = np.median(curve, axis=0)
    lower, upper = central_interval(draws, 0.9)
    spread = draws.std(axis=0)
    frame = pd.DataFrame(
        {
            **({"run": runs["run"].to_numpy()} if "run" in runs else {}),
            "compute": runs["compute"].to_numpy(dtype=float),
            "observed": observed,
            "median": median_curve,
            "lower_90": lower,
            "upper_90": upper,
            "residual_pct": (observed / median_curve - 1) * 100,
            "pit": (draws < observed).mean(axis=0),
            "z": (observed - draws.mean(axis=0)) / np.where(spread > 0, spread, np.nan),
        }
    )
    frame["inside_90"] = (frame["lower_90"] <= frame["observed"]) & (frame["observed"] <= frame["upper_90"])
    return frame


def curvature(check: pd.DataFrame | None) -> dict | None:
    """The quadratic trend of the standardised residuals in log10 compute: ``coefficient`` (per
    decade squared), ``t`` and ``bends`` (|t| >= CURVATURE_T); None with fewer than MIN_COMPUTES
    distinct computes or no check."""
    if check is None or check["compute"].nunique() < MIN_COMPUTES or check["z"].isna().any():
        return None
    x = np.log10(check["compute"].to_numpy())
    x = x - x.mean()
    design = np.column_stack([np.ones_like(x), x, x**2])
    z = check["z"].to_numpy()
    coefficients, *_ = np.linalg.lstsq(design, z, rcond=None)
    residual = z - design @ coefficients
    dof = len(z) - design.shape[1]
    scale = float(residual @ residual / dof)
    covariance = scale * np.linalg.inv(design.T @ design)
    t = float(coefficients[2] / np.sqrt(covariance[2, 2])) if covariance[2, 2] > 0 else 0.0
    return {"coefficient": float(coefficients[2]), "t": t, "bends": abs(t) >= CURVATURE_T, "runs": len(z)}
