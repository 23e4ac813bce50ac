"""Problems no fitted run solved: their level is integrated out against the bound their zero counts set
(``add_never_solved_bound``), and drawn back per posterior draw afterwards (``complete_posterior``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from bayes_scaling.laws.law import Prepared
from bayes_scaling.laws.pass_rate.priors import K_TYPICAL
from bayes_scaling.laws.pass_rate.problems import codes, kept_buckets, pivot_log_compute

NORMAL_DENSITY_AT_0 = 1 / np.sqrt(2 * np.pi)


def never_solved_walls(table: pd.DataFrame, per_problem: dict, compute_ref: float) -> dict:
    """For each kept problem no fitted run solved: its wall run and the probit fit of that run's wall.

    The wall run is the one whose zero count bounds log α (at C_ref) highest at the prior's
    typical k; its likelihood (1 − e^−λ)^n as a function of log λ is fitted by Φ((log λ − level)
    / width), matching the median (λ with (1 − e^−λ)^n = ½) and the slope there. The other runs'
    zero counts, looser bounds at the typical k, are left out (a slightly wider posterior).
    Arrays over every benchmark problem, as ``per_problem`` keeps them (-1 / NaN: not bounded).
    """
    problem_code, run_code, run_compute, _, problems = codes(table, per_problem)
    n = table["n"].to_numpy(dtype=float)
    median = -np.log(-np.expm1(np.log(0.5) / n))
    slope = 0.5 * n * np.exp(-median) * median / -np.expm1(-median)  # d(1 − e^−λ)^n / d log λ at the median
    level, width = np.log(median), NORMAL_DENSITY_AT_0 / slope
    bound = level + K_TYPICAL * np.log(run_compute / compute_ref)[run_code]
    solved = np.bincount(problem_code, weights=table["correct"].to_numpy(dtype=float), minlength=len(problems)) > 0
    rows = pd.DataFrame({"problem": problem_code, "bound": bound}).loc[~solved[problem_code]]
    wall_row = rows.groupby("problem")["bound"].idxmax()  # per never-solved problem
    names = np.asarray(per_problem["problem_name"]).astype(str)
    position = pd.Series(np.arange(len(names)), index=names)
    out = {"wall_run": np.full(len(names), -1), **{name: np.full(len(names), np.nan) for name in ("wall_compute", "wall_level", "wall_width")}}
    at, row = position.loc[[problems[i] for i in wall_row.index]].to_numpy(), wall_row.to_numpy()
    out["wall_run"][at] = run_code[row]
    out["wall_compute"][at] = run_compute[run_code[row]]
    out["wall_level"][at] = level[row]
    out["wall_width"][at] = width[row]
    return out


def walls(per_problem, with_compute: bool = False):
    """Kept problems in model order: (never solved, wall run, wall level, wall width[, wall compute])."""
    kept = kept_buckets(per_problem).index
    names = ("wall_run", "wall_level", "wall_width", "wall_compute")
    frame = pd.DataFrame(
        {name: np.asarray(per_problem[name]) for name in names}, index=np.asarray(per_problem["problem_name"]).astype(str)
    ).loc[kept]
    run = frame["wall_run"].to_numpy(dtype=int)
    out = (run >= 0, run, frame["wall_level"].to_numpy(dtype=float), frame["wall_width"].to_numpy(dtype=float))
    return out + (frame["wall_compute"].to_numpy(dtype=float),) if with_compute else out


def add_never_solved_bound(never, wall_run, wall_level, wall_width, log_alpha_bucket, log_alpha_spread, bucket_of,
                            k_of_problem, x, run_shift) -> None:
    """The likelihood of every never-solved problem, its level integrated out (see the module).

    Its zero counts at its wall run j say log λ_j lies above a threshold T ~ N(wall_level,
    wall_width²) (a probit fit to (1 − e^−λ)^n in log λ); its prior puts log λ_j at
    N(bucket level − k·x_j + shift_j, spread²). So the problem contributes
    P(log λ_j > T) = Φ((mean − wall_level) / sqrt(spread² + wall_width²)): smooth in the
    bucket's level, spread and k, with no latent level pressed against the steep wall
    of its zero counts (Pythia on GSM8K, fit <= 410M: 478-2,107 divergent transitions).
    """
    bounded = pm.Data("never_solved_problems", np.flatnonzero(never))
    run = pm.Data("never_solved_wall_run", wall_run[never])
    bucket = bucket_of[bounded]
    mean = log_alpha_bucket[bucket] - k_of_problem[bounded] * x[run] + run_shift[run]
    scale = pt.sqrt(log_alpha_spread[bucket] ** 2 + pm.Data("never_solved_wall_width", wall_width[never]) ** 2)
    z = (mean - pm.Data("never_solved_wall_level", wall_level[never])) / scale
    pm.Potential("never_solved_bound", _log_normal_cdf(z).sum())


def _log_normal_cdf(z):
    """log Φ(z), stable in both tails, in operations JAX has (PyMC's logcdf needs erfcx, which it lacks)."""
    body, tail = pt.maximum(z, -5.0), pt.minimum(z, -5.0)  # no NaN in the branch not taken
    log_body = pt.log(0.5 * pt.erfc(-body / np.sqrt(2.0)))
    log_tail = -0.5 * tail**2 - pt.log(-tail) - 0.5 * np.log(2 * np.pi) + pt.log1p(-1 / tail**2 + 3 / tail**4)
    return pt.switch(z > -5.0, log_body, log_tail)


def complete_posterior(posterior, prepared: Prepared, rng: np.random.Generator) -> None:
    """Draw each never-solved problem's level from its conditional, given every posterior draw (in place).

    The sampler integrated these levels out (``add_never_solved_bound``); given a draw of the
    bucket's level and spread, k and the runs' shifts, log λ at the wall run is normal, cut
    below by the threshold: with D = log λ − T ~ N(mean − level, spread² + width²) kept above 0,
    log λ | D is normal again. Fills ``alpha`` and ``log_alpha_at_pivot`` of those problems.
    """
    _, per_problem, options = prepared
    never, wall_run, wall_level, wall_width, wall_compute = walls(per_problem, with_compute=True)
    if not never.any():
        return
    bucket = kept_buckets(per_problem).to_numpy()[never] - 1
    x = np.log(wall_compute[never] / options["compute_ref"])
    level, spread = posterior["log_alpha_bucket"].values[..., bucket], posterior["log_alpha_spread"].values[..., bucket]
    k = posterior["k_problem"].values[..., never] if "k_problem" in posterior else posterior["k"].values[..., bucket]
    shift = posterior["run_shift"].values[..., wall_run[never]] if "run_shift" in posterior else 0.0
    mean = level - k * x + shift  # log λ at the wall run, before its zero counts
    width = wall_width[never]
    variance = spread**2 + width**2
    excess_mean, excess_sd = mean - wall_level[never], np.sqrt(variance)
    excess = stats.truncnorm.rvs(-excess_mean / excess_sd, np.inf, loc=excess_mean, scale=excess_sd, random_state=rng)
    log_lam = mean + spread**2 / variance * (excess - excess_mean) + spread * width / excess_sd * rng.standard_normal(mean.shape)
    log_alpha = log_lam + k * x - shift
    for name, values in (("alpha", np.exp(log_alpha)), ("log_alpha_at_pivot", log_alpha - k * pivot_log_compute(per_problem, options)[never])):
        filled = posterior[name].values.copy()
        filled[..., never] = values
        posterior[name] = posterior[name].copy(data=filled)
