"""Compare laws fitted to the same runs (LOO), and stack their forecasts.

When two laws both fit a ladder, which does the data support? ``compare`` asks ArviZ:
PSIS-LOO (``az.loo``) estimates each law's expected log predictive density for a run
it has not seen, from the pointwise log-likelihood every forecast keeps, and
``az.compare`` ranks them and gives stacking weights — the mixture of the laws'
predictive distributions that would have predicted left-out runs best (Yao et al.
2018). ``stack`` forms that mixture at the targets, so no single law has to be bet on.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes_scaling.quiet import quietly

with quietly():  # the first import of ArviZ when compare is imported first
    import arviz as az

from bayes_scaling.forecast_result import KINDS
from bayes_scaling.intervals import central_interval, interval_frame
from bayes_scaling.inference.diagnostics import SamplerWarning

PARETO_K_MAX = 0.7  # above it PSIS-LOO's estimate of that run's term is unreliable (Vehtari et al. 2017)

__all__ = ["StackedForecast", "compare", "stack"]


def compare(forecasts, method: str = "stacking") -> pd.DataFrame:
    """``az.compare`` (PSIS-LOO) of forecasts fitted to the same runs; one row per law, best first.

    PSIS-LOO (``az.loo``) estimates each law's expected log predictive density for a run
    it has not seen, from the pointwise log-likelihood every forecast keeps; stacking
    weights give the mixture of the laws' predictive distributions that would have
    predicted left-out runs best (Yao et al. 2018).

    Parameters
    ----------
    forecasts : list of Forecast or dict of str to Forecast
        Two or more Bayesian forecasts (from ``bs.forecast``) fitted to the same runs:
        a list (named by law; a repeated law gets ``_2``, ``_3``...) or a dict
        name -> Forecast.
    method : str, default "stacking"
        ``az.compare``'s weighting method: ``"stacking"``, ``"BB-pseudo-BMA"`` or
        ``"pseudo-BMA"``.

    Returns
    -------
    pandas.DataFrame
        One row per law, best first, indexed by name. Columns are ArviZ's: ``elpd_loo``,
        ``p_loo``, ``elpd_diff``, ``weight`` (stacking weights with the default
        ``method``), ``se``, ``dse``, ``warning`` (a Pareto k above 0.7).

    Raises
    ------
    ValueError
        When fewer than two forecasts are given, one is not a Bayesian forecast with a
        pointwise log-likelihood (made by ``bs.forecast``), or they were fitted to
        different runs (LOO compares laws on the same data only).

    Warns
    -----
    SamplerWarning
        When a member's sampler diagnostics failed: its LOO is not to be trusted.
    UserWarning
        When a Pareto k exceeds 0.7 (PSIS-LOO unreliable for those runs, usually runs far
        off the law), naming the laws and how many runs.

    See Also
    --------
    stack, backtest

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> import pandas as pd
    >>> runs = bs.load_runs("chinchilla.csv")
    >>> loss_fc = bs.forecast(runs, target=6 * 70e9 * 1.4e12, law="loss", seed=0)
    >>> chin_fc = bs.forecast(runs, target=pd.DataFrame({"params": [70e9], "tokens": [1.4e12]}),
    ...                       law="chinchilla", seed=0)
    >>> bs.compare([loss_fc, chin_fc])[["elpd_loo", "elpd_diff", "weight"]]
    """
    named = _named(forecasts)
    _check_same_runs(named)
    _warn_if_unhealthy(named)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto", category=UserWarning)  # ours names the law
        loos = {name: az.loo(fc.idata, pointwise=True) for name, fc in named.items()}
        table = az.compare(loos, ic="loo", method=method)  # the same PSIS-LOO, computed once
    _warn_if_pareto_k_high(loos)
    return table


def stack(forecasts, weights=None, seed: int = 0) -> StackedForecast:
    """The mixture of the forecasts' draws at their (common) targets, by weight.

    Each forecast contributes ``round(weight × n)`` of its draws (n the fewest draws any
    of them has), picked at random with ``seed``, the same draws at every target; so no
    single law has to be bet on.

    Parameters
    ----------
    forecasts : list of Forecast or dict of str to Forecast
        Two or more Bayesian forecasts made at the same targets, as ``compare`` takes
        them.
    weights : dict or pandas.Series, optional
        Name -> weight (>= 0, normalised to sum to 1). Default: the stacking weights of
        ``compare(forecasts)``.
    seed : int, default 0
        Seeds the choice of each member's draws.

    Returns
    -------
    StackedForecast
        The mixture, with ``weights``, ``targets``, ``draws()``, ``interval()``,
        ``prob_below()`` and ``to_frame()``.

    Raises
    ------
    ValueError
        When a weight is missing or negative, or they sum to 0; when the forecasts were
        made at other targets than the first; and for what ``compare`` refuses.

    Warns
    -----
    SamplerWarning
        When a member's sampler diagnostics failed: its share of the mixture is not to
        be trusted.

    See Also
    --------
    compare, StackedForecast

    Examples
    --------
    >>> stacked = bs.stack([loss_fc, chin_fc])        # weights from bs.compare
    >>> stacked.weights, stacked.interval(0.9), stacked.to_frame(), stacked.prob_below(2.0)
    >>> bs.stack([loss_fc, chin_fc], weights={"loss": 0.5, "chinchilla": 0.5})
    """
    named = _named(forecasts)
    if weights is None:
        weights = compare(named)["weight"]  # warns about its members itself
    else:
        _warn_if_unhealthy(named)
    weights = pd.Series(weights, dtype=float).reindex(list(named))
    if weights.isna().any() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be >= 0 for every forecast ({list(named)}), got {dict(weights)}")
    weights = weights / weights.sum()
    targets = next(iter(named.values())).targets
    for name, fc in named.items():
        if fc.targets.shape != targets.shape or not np.allclose(fc.targets, targets, rtol=1e-9):
            raise ValueError(f"forecast {name!r} was made at other targets ({fc.targets}) than the first ({targets})")
    total = min(fc.draws().shape[0] for fc in named.values())
    counts = np.floor(weights.to_numpy() * total + 0.5).astype(int)
    rng = np.random.default_rng(seed)
    picks = {name: rng.choice(fc.draws().shape[0], size=count, replace=False) for (name, fc), count in zip(named.items(), counts)}
    draws = {
        kind: np.concatenate([fc.draws(kind)[picks[name]] for name, fc in named.items()], axis=0) for kind in KINDS
    }
    # the members may be fitted to different runs: the distance from the one fitted furthest out
    distance = min((fc.extrapolation_distance()[["extrapolation_distance"]] for fc in named.values()),
                   key=lambda frame: float(frame["extrapolation_distance"].iloc[0]))
    return StackedForecast(targets=targets, weights=weights, draws_by_kind=draws, distance=distance)


class StackedForecast:
    """A weighted mixture of several laws' forecasts at the same targets.

    Made by ``bs.stack`` (and by ``bs.backtest`` for a list of laws); its methods answer
    as a ``Forecast``'s do, from the mixture's draws.

    Attributes
    ----------
    targets : numpy.ndarray
        The target computes (FLOPs) the members were made at.
    weights : pandas.Series
        Each member's weight, by name, summing to 1.

    Examples
    --------
    >>> stacked = bs.stack([loss_fc, chin_fc])
    >>> print(stacked)   # the weights, then the intervals at each target
    """

    def __init__(self, targets: np.ndarray, weights: pd.Series, draws_by_kind: dict[str, np.ndarray], distance: pd.DataFrame | None = None):
        self.targets = targets
        self.weights = weights
        self._draws = draws_by_kind
        self._distance = distance  # extrapolation_distance per target, from the members' fitted runs

    @property
    def law(self) -> str:
        """The members' names joined by ``+``, e.g. ``"stacked(loss+chinchilla)"``."""
        return "stacked(" + "+".join(self.weights.index) + ")"

    def draws(self, kind: str = "predictive") -> np.ndarray:
        """Draws of the mixture, shape (n_draws, n_targets).

        Parameters
        ----------
        kind : {"predictive", "mean"}, default "predictive"
            ``"predictive"`` for one new run, ``"mean"`` for the mean curve (no run-to-run
            noise).

        Returns
        -------
        numpy.ndarray
            Shape (n_draws, n_targets): each member's chosen draws, one after the other.

        Raises
        ------
        ValueError
            When ``kind`` is neither ``"predictive"`` nor ``"mean"``.

        Examples
        --------
        >>> stacked.draws().shape   # (n_draws, n_targets)
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return self._draws[kind]

    def interval(self, prob: float = 0.9, kind: str = "predictive"):
        """Equal-tailed interval ``(lower, upper)`` per target (arrays).

        Parameters
        ----------
        prob : float, default 0.9
            The interval's probability, in (0, 1).
        kind : {"predictive", "mean"}, default "predictive"
            As for ``draws``.

        Returns
        -------
        tuple of numpy.ndarray
            ``(lower, upper)``, one value per target.

        Raises
        ------
        ValueError
            When ``prob`` is not in (0, 1) or ``kind`` is unknown.

        Examples
        --------
        >>> lower, upper = stacked.interval(0.9)
        """
        return central_interval(self.draws(kind), prob)

    def prob_below(self, threshold: float, kind: str = "predictive") -> np.ndarray:
        """P(value < threshold) at each target.

        Parameters
        ----------
        threshold : float
            The value, e.g. a loss.
        kind : {"predictive", "mean"}, default "predictive"
            As for ``draws``.

        Returns
        -------
        numpy.ndarray
            The share of the mixture's draws below ``threshold``, one per target.

        Examples
        --------
        >>> stacked.prob_below(2.0)
        """
        return (self.draws(kind) < threshold).mean(axis=0)

    def to_frame(self, kind: str = "predictive") -> pd.DataFrame:
        """The same columns as ``Forecast.to_frame``.

        Parameters
        ----------
        kind : {"predictive", "mean"}, default "predictive"
            As for ``draws``.

        Returns
        -------
        pandas.DataFrame
            One row per target: compute, mean, median, lower_50, upper_50, lower_90,
            upper_90 and ``extrapolation_distance`` (over the largest compute any member was
            fitted to).

        Examples
        --------
        >>> stacked.to_frame()
        """
        frame = interval_frame(self.draws(kind), compute=self.targets)
        return frame if self._distance is None else pd.concat([frame, self._distance.reset_index(drop=True)], axis=1)

    def __repr__(self) -> str:
        shares = ", ".join(f"{name} {w:.2f}" for name, w in self.weights.items())
        table = self.to_frame().to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"StackedForecast(weights: {shares})\n{table}"


def _named(forecasts) -> dict:
    if isinstance(forecasts, dict):
        named = dict(forecasts)
    else:
        named = {}
        for fc in forecasts:
            name, k = fc.law, 2
            while name in named:
                name, k = f"{fc.law}_{k}", k + 1
            named[name] = fc
    if len(named) < 2:
        raise ValueError(f"give at least two forecasts to compare or stack, got {len(named)}")
    for name, fc in named.items():
        if not hasattr(fc, "idata") or "log_likelihood" not in fc.idata.groups():
            raise ValueError(f"{name!r} is not a Bayesian forecast with a pointwise log-likelihood (made by bs.forecast)")
    return named


def _warn_if_unhealthy(named: dict) -> None:
    """A member whose sampler diagnostics failed makes the comparison and the mixture unreliable too."""
    failed = {name: fc.diagnostics.problems() for name, fc in named.items() if not fc.ok}
    if failed:
        warnings.warn(
            "members whose sampler diagnostics failed: "
            + "; ".join(f"{name}: {', '.join(problems)}" for name, problems in failed.items())
            + " — their LOO and their share of any mixture are not to be trusted; refit them first",
            SamplerWarning,
            stacklevel=3,
        )


def _warn_if_pareto_k_high(loos: dict) -> None:
    """Name the runs whose leave-one-out term PSIS cannot estimate (Pareto k > 0.7), per law."""
    high = {}
    for name, loo in loos.items():
        k = loo.pareto_k.to_numpy()
        if (k > PARETO_K_MAX).any():
            high[name] = int((k > PARETO_K_MAX).sum())
    if high:
        warnings.warn(
            "Pareto k > 0.7 (PSIS-LOO unreliable for those runs, usually runs far off the law): "
            + ", ".join(f"{name}: {count} run(s)" for name, count in high.items())
            + "; the comparison leans on them more than it can measure (refit without them, or use K-fold)",
            UserWarning,
            stacklevel=3,
        )


def _check_same_runs(named: dict) -> None:
    """LOO compares laws only on the same observations: same observed values, same order."""
    items = list(named.items())
    first_name, first = items[0]
    observed = first.runs[first.settings["observed"]].to_numpy()
    for name, fc in items[1:]:
        other = fc.runs[fc.settings["observed"]].to_numpy()
        if other.shape != observed.shape or not np.allclose(other, observed):
            raise ValueError(
                f"forecasts {first_name!r} and {name!r} were fitted to different runs "
                f"({observed.size} vs {other.size} observations); LOO compares laws on the same data only"
            )
