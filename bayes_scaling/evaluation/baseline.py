"""The point baseline: scipy ``curve_fit`` of a law plus a bootstrap over the fitted runs.

What people use today (and Epoch used for its Chinchilla refit). Kept in the package so
a backtest can score it in the same format as the Bayesian forecast, side by side. The
bootstrap refits the curve on resampled runs; the spread of the refitted curves at a
target is its "interval" (it has no run-to-run noise term, one reason it is too narrow).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit


def _loss_curve(x, a, b, c):
    return a * np.exp(b * x) + c


def _chinchilla_curve(x, E, params_term, tokens_term, alpha, beta):
    return E + params_term * np.exp(-alpha * x[0]) + tokens_term * np.exp(-beta * x[1])


def _features(law: str, frame: pd.DataFrame, ref: pd.DataFrame) -> np.ndarray:
    """The law's inputs in log units around the fitted runs' geometric means."""
    columns = ["params", "tokens"] if law == "chinchilla" else ["compute"]
    centre = np.log(ref[columns].to_numpy(dtype=float)).mean(axis=0)
    values = (np.log(frame[columns].to_numpy(dtype=float)) - centre).T
    return values[0] if len(columns) == 1 else values


def _curve(law: str, loss: np.ndarray):
    """(function, start, bounds) of the law's curve in its centred log inputs."""
    low, mid = float(loss.min()), float(np.median(loss))
    if law == "loss":
        return _loss_curve, (loss.max() - 0.8 * low, -0.2, 0.8 * low), ([0, -5, 0], [np.inf, 0, low])
    if law == "chinchilla":
        return _chinchilla_curve, (0.5 * low, mid / 4, mid / 4, 0.3, 0.3), ([0] * 5, [low, np.inf, np.inf, 3, 3])
    raise ValueError(f"the curve_fit baseline exists for laws 'loss' and 'chinchilla', not {law!r}")


BOOTSTRAPS = 1000


def curve_fit_bootstrap(curve, x, y, x_new, p0, bounds, rng, resamples: int = BOOTSTRAPS):
    """Point fit of ``curve`` and its values at ``x_new`` refitted on resamples of the points.

    ``x`` is 1-D, or (inputs, points). Resamples with fewer distinct points than the curve
    has parameters, or whose fit fails, are skipped. Returns (point prediction at
    ``x_new``, array of bootstrap predictions (resample, x_new)).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        params, _ = curve_fit(curve, x, y, p0=p0, bounds=bounds, maxfev=20000)
        draws = []
        for _ in range(resamples):
            pick = rng.integers(0, len(y), len(y))
            if np.unique(x[..., pick], axis=-1).shape[-1] < len(p0):
                continue
            try:
                refit, _ = curve_fit(curve, x[..., pick], y[pick], p0=params, bounds=bounds, maxfev=20000)
            except RuntimeError:
                continue
            draws.append(np.atleast_1d(curve(x_new, *refit)))
    return np.atleast_1d(curve(x_new, *params)), np.array(draws)


def bootstrap_draws(fitted: pd.DataFrame, targets: pd.DataFrame, law: str = "loss", resamples: int = BOOTSTRAPS, seed: int = 0):
    """(point forecast, bootstrap draws of shape (resamples kept, n_targets)) at ``targets``.

    ``fitted`` and ``targets`` hold the law's input columns (``compute``; or ``params``
    and ``tokens``); ``fitted`` also ``loss``.
    """
    loss = fitted["loss"].to_numpy(dtype=float)
    function, start, bounds = _curve(law, loss)
    x, x_target = _features(law, fitted, fitted), _features(law, targets, fitted)
    try:
        point, draws = curve_fit_bootstrap(function, x, loss, x_target, start, bounds, np.random.default_rng(seed), resamples)
    except RuntimeError as err:
        raise ValueError(f"curve_fit of the {law!r} law failed on the {len(loss)} fitted runs: {err}") from None
    if not len(draws):
        raise ValueError(f"no bootstrap resample of the {len(loss)} fitted runs could be refitted")
    return point, draws
