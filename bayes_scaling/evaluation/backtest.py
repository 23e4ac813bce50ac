"""Backtest a law on your own ladder: hide the largest runs, forecast them from the rest, score.

Whether intervals hold their stated coverage can only be checked on runs the fit has
not seen. ``backtest`` fits on the smaller runs, forecasts every held-out run, and
scores each forecast: is the actual loss inside the 50% and 90% intervals, the
absolute % error of the median, the PIT (the forecast's probability of a loss below
the actual; uniform when calibrated) and the CRPS (a proper score of the whole
predictive distribution, in loss units; lower is better). The curve_fit + bootstrap
baseline (``method="bootstrap"``) and a stack of laws (``law=[...]``) are scored the
same way, so they can be compared side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes_scaling.evaluation.baseline import bootstrap_draws
from bayes_scaling.evaluation.compare import stack
from bayes_scaling.tables import MIN_DISTINCT_COMPUTE, DataError
from bayes_scaling.forecast import forecast
from bayes_scaling.scoring import score_draws
from bayes_scaling.laws import get_law

__all__ = ["BacktestResult", "backtest", "score_draws"]

METHODS = ("bayes", "bootstrap")
NOMINAL = np.linspace(0.05, 0.95, 19)  # levels of the calibration plot


def backtest(
    data,
    law="loss",
    holdout_above: float | None = None,
    holdout_fraction: float | None = None,
    fit_up_to: float | None = None,
    method: str = "bayes",
    seed: int = 0,
    resamples: int = 1000,
    **forecast_options,
) -> BacktestResult:
    """Fit ``law`` on the smaller runs of ``data``, forecast the held-out larger ones, score them.

    Each held-out run is scored: is its actual value inside the 50% and 90% intervals,
    the absolute % error of the median, the PIT and the CRPS. Give exactly one of
    ``holdout_above`` and ``holdout_fraction``.

    Parameters
    ----------
    data : str, os.PathLike or pandas.DataFrame
        The runs, as the law's loader takes them (``load_runs`` for ``law="loss"``).
    law : str or list of str, default "loss"
        A law name, or a list of names to stack (weights from ``bs.compare``). Per-bucket
        laws (``"pass_rate"``) are refused: they forecast a rate per bucket, not one
        value per held-out run.
    holdout_above : float, optional
        Hold out the runs with compute > ``holdout_above`` (FLOPs).
    holdout_fraction : float, optional
        Hold out the top ``holdout_fraction`` of runs by compute, 0 < f < 1 (ties stay
        together).
    fit_up_to : float, optional
        Fit on the runs with compute <= ``fit_up_to`` (default: every run not held out),
        which leaves a gap as in "fit up to 1e20, forecast beyond 1e21". Must not exceed
        the holdout cut.
    method : {"bayes", "bootstrap"}, default "bayes"
        ``"bootstrap"`` scores the curve_fit + bootstrap baseline (one law only) instead
        of the Bayesian fit.
    seed : int, default 0
        The forecast's seed (and the stack's, or the bootstrap's).
    resamples : int, default 1000
        Bootstrap refits, for ``method="bootstrap"``.
    **forecast_options
        Other keywords go to ``bs.forecast`` (e.g. ``draws``, ``extrapolation_error``).

    Returns
    -------
    BacktestResult
        One row per held-out run (``to_frame()``), ``summary()``, ``coverage_curve()``,
        ``plot()``, and the forecast it scored (``forecast``).

    Raises
    ------
    ValueError
        When ``law`` is empty or a per-bucket law, ``method`` is unknown (or
        ``"bootstrap"`` with several laws), not exactly one of ``holdout_above`` and
        ``holdout_fraction`` is given, ``holdout_fraction`` is not strictly between 0
        and 1, ``holdout_above`` is not a compute > 0, or ``fit_up_to`` exceeds the cut.
    DataError
        When the data are unusable (see ``load_runs``), no run lies above the cut, or the
        runs left to fit have fewer than three distinct compute values.

    See Also
    --------
    BacktestResult, forecast, compare

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> runs = bs.load_runs("runs.csv")
    >>> result = bs.backtest(runs, holdout_fraction=0.25, seed=0)  # hide the top 25% of runs by compute
    >>> result = bs.backtest(runs, holdout_above=1e19, fit_up_to=3e18)  # fit <= 3e18, forecast > 1e19
    >>> result.summary()  # coverage at 50% and 90%, median abs % error, mean CRPS
    >>> baseline = bs.backtest(runs, holdout_fraction=0.25, method="bootstrap")
    """
    laws = [law] if isinstance(law, str) else list(law)
    if not laws:
        raise ValueError("law is empty; give a law name or a list of them")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "bootstrap" and len(laws) > 1:
        raise ValueError("method='bootstrap' scores one law; stacking needs the Bayesian fits")
    chosen = [get_law(name) for name in laws]
    for law_ in chosen:
        if law_.bucket_labels is not None:  # before any sampling
            raise ValueError(
                f"backtest scores one observed value per held-out run; the {law_.name!r} law forecasts a pass "
                "rate per bucket of problems, so hold out the largest runs yourself, forecast them and compare "
                "fc.to_frame() with their observed bucket rates (benchmarks/pass_rate_pythia.py does so)"
            )
    tables = [law_.load(data) for law_ in chosen]
    compute = tables[0]["compute"].to_numpy()
    held, fitted, cut = _split(compute, holdout_above, holdout_fraction, fit_up_to)

    if method == "bootstrap":
        fit_table = tables[0][fitted].reset_index(drop=True)
        point, draws = bootstrap_draws(fit_table, tables[0][held].reset_index(drop=True), laws[0], resamples, seed)
        made = None
    else:
        fits = [
            forecast(table[fitted].reset_index(drop=True), target=law_.targets_of(table[held].reset_index(drop=True)),
                     law=law_.name, seed=seed, **forecast_options)
            for law_, table in zip(chosen, tables)
        ]
        made = fits[0] if len(fits) == 1 else stack(fits, seed=seed)
        draws, point = made.draws(), None
    actual = tables[0].loc[held, chosen[0].observed].to_numpy()
    frame = pd.concat(
        [pd.DataFrame({"compute": compute[held], "actual": actual}), score_draws(draws, actual, point)], axis=1
    )
    label = "+".join(laws)
    return BacktestResult(frame=frame, law=label, method=method, fitted=int(fitted.sum()), cut=cut, forecast=made)


@dataclass
class BacktestResult:
    """One row per held-out run (``to_frame()``), summary scores, a calibration plot.

    Made by ``bs.backtest``; not meant to be built by hand.

    Attributes
    ----------
    frame : pandas.DataFrame
        The scores, one row per held-out run (``to_frame()`` returns a copy).
    law : str
        The law scored; stacked laws joined by ``+``, e.g. ``"loss+chinchilla"``.
    method : str
        ``"bayes"`` or ``"bootstrap"``.
    fitted : int
        How many runs the fit used.
    cut : dict
        ``holdout_above`` and ``fit_up_to``, in FLOPs.
    forecast : Forecast, StackedForecast or None
        The forecast it scored (fitted on the kept runs only); None for the bootstrap.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> result = bs.backtest(bs.load_runs("runs.csv"), holdout_fraction=0.25, seed=0)
    >>> result.to_frame()      # one row per held-out run
    >>> result.summary()       # coverage at 50% and 90%, median abs % error, mean CRPS
    >>> result.plot("calibration.png")
    """

    frame: pd.DataFrame
    law: str
    method: str
    fitted: int
    cut: dict = field(default_factory=dict)
    forecast: object = None  # the Forecast (or StackedForecast) it scored; None for bootstrap

    def to_frame(self) -> pd.DataFrame:
        """The scores of every held-out run, one row each.

        Returns
        -------
        pandas.DataFrame
            A copy, with columns compute, actual, median, lower/upper 50/90,
            covered_50/90, abs_pct_error, pit, crps. ``abs_pct_error`` is that of the
            point forecast (the median of the draws; curve_fit's own fit for the
            bootstrap baseline); ``pit`` is the share of draws below the actual (uniform
            when calibrated); ``crps`` is a proper score of the whole predictive
            distribution, in the observed value's units (lower is better).

        Examples
        --------
        >>> result.to_frame()[["compute", "actual", "median", "covered_90", "pit"]]
        """
        return self.frame.copy()

    def summary(self) -> dict:
        """Coverage of the 50% and 90% intervals, median abs % error, mean CRPS.

        Returns
        -------
        dict
            ``law``, ``method``, ``fitted`` (runs fitted), ``held_out`` (runs scored),
            ``coverage_50``, ``coverage_90`` (shares of held-out runs inside the
            interval), ``median_abs_pct_error`` and ``mean_crps``.

        Examples
        --------
        >>> s = result.summary()
        >>> s["coverage_90"], s["median_abs_pct_error"]
        """
        f = self.frame
        return {
            "law": self.law,
            "method": self.method,
            "fitted": self.fitted,
            "held_out": len(f),
            "coverage_50": float(f["covered_50"].mean()),
            "coverage_90": float(f["covered_90"].mean()),
            "median_abs_pct_error": float(f["abs_pct_error"].median()),
            "mean_crps": float(f["crps"].mean()),
        }

    def coverage_curve(self) -> pd.DataFrame:
        """Share of held-out runs inside the central interval at each nominal level (from the PIT).

        Returns
        -------
        pandas.DataFrame
            Columns ``nominal`` (0.05, 0.10, ..., 0.95) and ``observed`` (the share of
            held-out runs whose PIT lies within ``nominal / 2`` of 0.5). Every level
            comes from the one fit.

        Examples
        --------
        >>> result.coverage_curve().tail(1)   # observed coverage of the 95% interval
        """
        pit = self.frame["pit"].to_numpy()
        inside = [(np.abs(pit - 0.5) <= level / 2).mean() for level in NOMINAL]
        return pd.DataFrame({"nominal": NOMINAL, "observed": inside})

    def plot(self, path=None, ax=None):
        """Calibration plot: observed vs nominal coverage of central intervals, and the diagonal.

        On the diagonal the intervals hold their stated coverage; below it they are too
        narrow.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to save the figure (the format from its extension); without it, a
            pyplot figure is made, which a notebook shows.
        ax : matplotlib.axes.Axes, optional
            Draw into these axes instead of a new figure.

        Returns
        -------
        matplotlib.figure.Figure
            The figure drawn on.

        Examples
        --------
        >>> result.plot("calibration.png")
        """
        from bayes_scaling.output.plotting import calibration_chart

        return calibration_chart(self, path=path, ax=ax)

    def __repr__(self) -> str:
        s = self.summary()
        table = self.frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return (
            f"BacktestResult(law={s['law']!r}, method={s['method']!r}, {s['fitted']} runs fitted, {s['held_out']} held out)\n"
            f"{table}\ncoverage 50% {s['coverage_50']:.0%}, 90% {s['coverage_90']:.0%}; "
            f"median |error| {s['median_abs_pct_error']:.2f}%; mean CRPS {s['mean_crps']:.4g}"
        )


def _split(compute: np.ndarray, holdout_above, holdout_fraction, fit_up_to):
    """(held-out mask, fitted mask, the cut as a dict) with clear errors for a useless split."""
    if (holdout_above is None) == (holdout_fraction is None):
        raise ValueError("give exactly one of holdout_above (a compute in FLOPs) or holdout_fraction (0 < f < 1)")
    if holdout_fraction is not None:
        if not 0 < holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must lie strictly between 0 and 1, got {holdout_fraction!r}")
        count = math.ceil(holdout_fraction * compute.size)
        holdout_above = float(np.sort(compute)[::-1][count - 1]) * (1 - 1e-12)  # the count-th largest is held out
    if not (np.isfinite(holdout_above) and holdout_above > 0):
        raise ValueError(f"holdout_above must be a compute budget > 0 (FLOPs), got {holdout_above!r}")
    limit = holdout_above if fit_up_to is None else fit_up_to
    if limit > holdout_above:
        raise ValueError(f"fit_up_to ({limit:.3g}) must not exceed holdout_above ({holdout_above:.3g})")
    held = compute > holdout_above
    fitted = compute <= limit
    if not held.any():
        raise DataError(
            f"no run has compute above {holdout_above:.3g} (the largest is {compute.max():.3g}): nothing to forecast"
        )
    distinct = np.unique(compute[fitted]).size
    if distinct < MIN_DISTINCT_COMPUTE:
        raise DataError(
            f"the runs with compute <= {limit:.3g} are {int(fitted.sum())} at {distinct} distinct compute values; "
            f"a fit needs at least {MIN_DISTINCT_COMPUTE}: hold out fewer runs"
        )
    return held, fitted, {"holdout_above": float(holdout_above), "fit_up_to": float(limit)}
