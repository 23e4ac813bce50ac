"""Which runs to add to a ladder: ``suggest_runs`` ranks candidate runs by how much of the target's
interval each is expected to remove per FLOP, and plans a set within a budget.

A forecast's interval is often too wide to sign. More small runs narrow it, but not equally: a
run far beyond the ladder pins the exponent, a repeat of an existing rung mostly measures noise,
and both cost compute. The expected width after a run is a preposterior quantity: averaged over
the outcomes the current posterior thinks that run could have. planning/preposterior.py computes
it by reweighting the posterior draws (no refit per outcome); a plan adds, one at a time, the
candidate with the largest expected narrowing per FLOP given the runs already chosen, until the
budget is spent.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes_scaling.forecast import checked_seed
from bayes_scaling.forecast_result import KINDS
from bayes_scaling.inference.thinning import thin, thin_posterior
from bayes_scaling.laws import get_law
from bayes_scaling.planning import preposterior
from bayes_scaling.planning.suggestions import RunSuggestions
from bayes_scaling.tables import DataError, ExtrapolationWarning

__all__ = ["RunSuggestions", "suggest_runs"]

DEFAULT_CANDIDATES = 12  # a geometric grid of this many computes when none are given
EFLOP = 1e18
RULES = ("per_flop", "narrowing")
METHODS = ("linear", "reweight")


def suggest_runs(
    fc,
    budget: float,
    candidates=None,
    target: float | None = None,
    kind: str = "predictive",
    prob: float = 0.9,
    method: str = "linear",
    max_runs: int | None = None,
    simulations: int = 400,
    max_draws: int = 2000,
    seed: int | None = None,
) -> RunSuggestions:
    """Rank candidate runs by the expected narrowing of the target's interval per FLOP, and plan within a budget.

    The width a run would leave is estimated from the forecast's own draws, without refitting
    (``method``; planning/preposterior.py). The plan adds, one at a time, the affordable
    candidate that narrows the interval most per FLOP given those already chosen, until no
    candidate fits the budget left or none narrows it clearly; a second plan that adds the
    largest narrowing each time is also made, and the narrower of the two is returned (a
    cheap-first plan can strand the budget where one large run does more).

    Parameters
    ----------
    fc : Forecast
        A forecast of the ``"loss"``, ``"broken_loss"`` or ``"chinchilla"`` law. With ``extrapolation_error`` the
        runs' deviations from the law are drawn jointly with the target's, so a run far from
        the target cannot remove the error of extrapolating to it (``"linear"`` only).
    budget : float
        The compute that can be spent on new runs, in FLOPs (finite, > 0).
    candidates : float, sequence of float or pandas.DataFrame, optional
        The runs that could be trained: computes (``"loss"``), or a DataFrame with ``params``
        and ``tokens`` (and optionally ``compute``, default 6·N·D) for ``"chinchilla"``. A
        run's cost is its compute. Default (``"loss"`` only): 12 computes spaced
        geometrically from the smallest fitted run to the smaller of the budget and the target.
    target : float, optional
        Which of the forecast's targets (its compute) the interval is at; default the largest.
    kind : {"predictive", "mean"}, default "predictive"
        The interval of one new run at the target, or of the mean curve.
    prob : float, default 0.9
        The interval's probability, in (0, 1).
    method : {"linear", "reweight"}, default "linear"
        How the posterior is updated for a run's outcome (planning/preposterior.py):
        ``"linear"``, the Bayes linear (ensemble Kalman) update, cheap and fit for plans of
        many runs; ``"reweight"``, importance reweighting over simulated outcomes,
        exact with enough draws while the Pareto k stays below 0.7 (for one or a few runs).
    max_runs : int, optional
        At most this many runs in the plan (each run has a cost beyond its FLOPs); default no
        limit.
    simulations : int, default 400
        ``"reweight"``: simulated outcomes per candidate (the Monte Carlo error of each
        narrowing is reported in ``shrinkage_se``).
    max_draws : int, default 2000
        Posterior draws reweighted (evenly thinned).
    seed : int, optional
        Seed of the simulated outcomes; default the forecast's own, so the same forecast gives
        the same suggestions.

    Returns
    -------
    RunSuggestions
        ``candidates``: every candidate ranked by expected narrowing per FLOP;
        ``plan``: the runs chosen within ``budget``, in order; ``plot()``.

    Raises
    ------
    ValueError
        For anything but a ``Forecast`` (a stacked one included), a law other than
        ``"loss"``, ``"broken_loss"`` and ``"chinchilla"``, ``method="reweight"`` on a
        forecast with ``extrapolation_error``, an unknown ``target``, ``kind`` or ``method``, a
        ``budget`` that is not a finite number > 0, ``prob`` outside (0, 1), ``max_runs`` < 1, fewer than 20
        ``simulations`` or 100 ``max_draws``, or a bad ``seed``.
    DataError
        For unusable candidates (the message names the value), or none given where the law
        needs a DataFrame.

    See Also
    --------
    forecast, compare_recipes

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> fc = bs.forecast(bs.example_runs(), target=1e22, seed=0)
    >>> plan = bs.suggest_runs(fc, budget=3e20, candidates=[1e19, 3e19, 1e20, 3e20])
    >>> plan.candidates[["compute", "width_after", "shrinkage_per_eflop"]]
    >>> plan.plan          # what to train, in order, and the width expected after each
    """
    if not hasattr(fc, "settings"):  # what a Forecast records of its fit; a StackedForecast has none
        raise ValueError(f"suggest_runs needs a Forecast (bs.forecast or bs.load_forecast), got {type(fc).__name__}")
    law = get_law(fc.law)
    options = fc.settings["options"]
    if law.run_log_density is None:
        raise ValueError(f"suggest_runs needs a law of runs' losses ('loss', 'broken_loss' or 'chinchilla'); this forecast is law {fc.law!r}")
    if method == "reweight" and law.run_log_density({"sigma": np.ones(1)}, options, np.ones(1), np.ones(1)) is None:
        raise ValueError(
            "method='reweight' needs runs that scatter independently around the law; this forecast was fitted with "
            "extrapolation_error, which ties every run to the others: use method='linear', which draws them together"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    budget = _positive_number(budget, "budget")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if max_runs is not None and (not isinstance(max_runs, (int, np.integer)) or max_runs < 1):
        raise ValueError(f"max_runs must be a positive integer or None, got {max_runs!r}")
    if not isinstance(simulations, (int, np.integer)) or simulations < 20:
        raise ValueError(f"simulations must be an integer >= 20, got {simulations!r}")
    if not isinstance(max_draws, (int, np.integer)) or max_draws < 100:
        raise ValueError(f"max_draws must be an integer >= 100, got {max_draws!r}")
    seed = fc.settings["seed"] if seed is None else checked_seed(seed)
    column = _target_column(fc, target)
    table = _candidates(law, fc, candidates, budget, float(fc.targets[column]))

    quantity = fc.quantities[0]
    name = f"mean_{quantity}" if kind == "mean" else quantity
    posterior = {key: values[0] for key, values in thin_posterior(fc.idata.posterior, max_draws).items()}  # (draw, ...)
    rng = np.random.default_rng([seed, 4])
    design = law.targets_of(table)  # what law.predict takes: computes, or the law's target columns
    if method == "linear":
        # the target and the candidates drawn together, so that whatever ties them (the extrapolation
        # error's deviation from the law) is in their joint draws
        draws = law.predict(posterior, fc.idata.constant_data, options, _with_target(fc, law, column, design), rng)
        lower, upper = fc.interval(prob, kind=kind)  # today's width as the forecast states it
        now = float(np.atleast_1d(upper)[column] - np.atleast_1d(lower)[column])
        estimator = preposterior.LinearUpdate(draws[name][:, 0], draws[quantity][:, 1:], prob, now=now)
    else:
        values = thin(fc.idata.predictions[name].to_numpy()[..., column], max_draws).reshape(-1)
        means = law.predict(posterior, fc.idata.constant_data, options, design, rng)[f"mean_{quantity}"]
        worlds = rng.integers(len(values), size=simulations)
        outcomes = law.predict({key: array[worlds] for key, array in posterior.items()}, fc.idata.constant_data, options, design, rng)[quantity]
        # (world, draw) per candidate, computed when asked: all at once can take GBs
        estimator = preposterior.Reweighting(values, lambda j: law.run_log_density(posterior, options, means[:, j], outcomes[:, j]), prob)

    first = [estimator.add(estimator.start, j) for j in range(len(table))]  # each candidate alone, once
    ranked = _rank(table, estimator, first, budget)
    # Greedy per FLOP can strand the budget on cheap runs when one large run does more (the knapsack
    # trap): the plan is also made greedily by narrowing alone, and the narrower of the two is kept.
    plan = min((_plan(table, estimator, first, budget, rule, max_runs) for rule in RULES), key=_final_width)
    return RunSuggestions(
        candidates=ranked, plan=plan, width_now=estimator.now, target=float(fc.targets[column]), budget=budget, kind=kind,
        prob=prob, law=fc.law, fitted=fc.runs, seed=seed, method=method, simulations=simulations,
    )


def _rank(table, estimator, first, budget) -> pd.DataFrame:
    """Every candidate alone (``first``: its step from today's posterior): its expected width after, the
    narrowing per EFLOP, its estimate's health. Candidates whose narrowing is clear of the Monte Carlo
    error come first."""
    rows = []
    for j, step in enumerate(first):
        cost = float(table["compute"].iloc[j])
        rows.append({
            "width_after": step.width, "shrinkage": step.gain, "shrinkage_se": step.gain_se, "shrinkage_share": step.gain / estimator.now,
            "shrinkage_per_eflop": step.gain / (cost / EFLOP), "clear": bool(step.clear), "pareto_k": estimator.health(step.state),
            "affordable": cost <= budget,
        })
    ranked = pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    return ranked.sort_values(["clear", "shrinkage_per_eflop"], ascending=False, kind="stable").reset_index(drop=True)


def _final_width(plan: pd.DataFrame) -> float:
    return float(plan["width_after"].iloc[-1]) if len(plan) else np.inf


def _plan(table, estimator, first, budget, rule: str, max_runs: int | None) -> pd.DataFrame:
    """Greedy: the affordable candidate with the largest clear narrowing (``rule="per_flop"``: per
    FLOP; ``"narrowing"``: in all), given the chosen ones; ``first`` holds the first choice's steps."""
    cost = table["compute"].to_numpy(dtype=float)
    chosen, spent, state, rows = [], 0.0, estimator.start, []
    while max_runs is None or len(chosen) < max_runs:
        trials = {}
        for j in range(len(table)):
            if j not in chosen and cost[j] <= budget - spent:
                step = estimator.add(state, j) if chosen else first[j]
                if step.clear:
                    trials[j] = step
        if not trials:  # nothing affordable narrows the interval clearly
            break
        best = max(trials, key=lambda j: trials[j].gain / (cost[j] if rule == "per_flop" else 1.0))
        step = trials[best]
        chosen.append(best)
        spent += cost[best]
        state = step.state
        rows.append({
            **table.iloc[best].to_dict(), "spent": spent, "width_after": step.width, "shrinkage": step.gain,
            "shrinkage_se": step.gain_se, "shrinkage_share": (estimator.now - step.width) / estimator.now,
            "pareto_k": estimator.health(state),
        })
    columns = [*table.columns, "spent", "width_after", "shrinkage", "shrinkage_se", "shrinkage_share", "pareto_k"]
    plan = pd.DataFrame(rows, columns=columns).astype({"candidate": int})
    plan.attrs["rule"] = rule
    return plan


def _with_target(fc, law, column: int, design):
    """The target (first) and the candidates as one design for ``law.predict``."""
    stored = fc.idata.predictions_constant_data
    if not law.target_columns:
        return np.r_[float(fc.targets[column]), design]
    target = pd.DataFrame({name: [float(stored[name].to_numpy()[column])] for name in design.columns})
    return pd.concat([target, design], ignore_index=True)


def _target_column(fc, target) -> int:
    """The index of the target the interval is at: ``target``'s compute, or the largest."""
    computes = np.asarray(fc.targets, dtype=float)
    if target is None:
        return int(np.argmax(computes))
    value = _positive_number(target, "target")
    matches = np.flatnonzero(np.isclose(computes, value, rtol=1e-9, atol=0))
    if not matches.size:
        raise ValueError(f"target {value:.3g} is not one of this forecast's targets {[float(f'{c:.4g}') for c in computes]}")
    return int(matches[0])


def _candidates(law, fc, candidates, budget: float, target: float) -> pd.DataFrame:
    """The candidates as a table with ``compute`` (their cost) and the law's target columns."""
    if candidates is None:
        if law.target_columns:
            raise DataError(
                f"the {law.name!r} law's candidates are a DataFrame with columns {list(law.target_columns)} "
                "(one row per run that could be trained)"
            )
        top = min(budget, target)
        low = min(float(fc.runs["compute"].min()), top / 100)
        candidates = np.geomspace(low, top, DEFAULT_CANDIDATES)
    if isinstance(candidates, pd.DataFrame) and not law.target_columns:
        if "compute" not in candidates.columns:
            raise DataError(
                f"the {law.name!r} law's candidates are computes (a number, a list, or a table with a compute column); "
                f"got a table with columns {[str(c) for c in candidates.columns]}"
            )
        candidates = candidates["compute"].to_numpy()
    with warnings.catch_warnings():  # candidates inside or below the ladder are expected here
        warnings.simplefilter("ignore", ExtrapolationWarning)
        try:
            checked = law.check_targets(fc.runs, candidates, stacklevel=3)
        except DataError as error:
            message = str(error).replace("targets[", "candidates[").replace("the target DataFrame", "the candidates DataFrame")
            raise DataError(message if "candidates" in message else f"candidates: {message}") from None
    table = checked.reset_index(drop=True) if isinstance(checked, pd.DataFrame) else pd.DataFrame({"compute": np.asarray(checked, dtype=float)})
    table.insert(0, "candidate", np.arange(len(table)))  # its position in the candidates given
    return table


def _positive_number(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of FLOPs > 0, got {value!r}") from None
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{what} must be a finite number of FLOPs > 0, got {value!r}")
    return number
