"""Before sampling: bucket the problems, pick how the run shifts and the cell noise are modelled.

``prepare`` turns a pass-count table into the ``Prepared`` the model is built from; the
functions after it read the settings it chose (which graph, which likelihood form).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from bayes_scaling.buckets import assign_buckets, border_probabilities
from bayes_scaling.laws.law import Prepared
from bayes_scaling.laws.pass_rate.count_likelihood import STIRLING_FROM
from bayes_scaling.laws.pass_rate.dispersion import cell_dispersion, run_dispersion
from bayes_scaling.laws.pass_rate.never_solved import never_solved_walls, walls
from bayes_scaling.laws.pass_rate.pivots import information_pivots
from bayes_scaling.laws.pass_rate.problems import codes, kept_buckets
from bayes_scaling.tables import IdentifiabilityWarning

RUN_SHIFTS = ("auto", "centred", "whitened", "non_centred", "measured")

# run_dispersion() above this: the runs visibly sit off their problems' trends, and the shifts
# are sampled centred. Measured: synthetic data without run noise 0.95-2.7 (8 seeds); Pythia on
# GSM8K 33 (final checkpoints <= 1.4B), 52 (all final), 627 (training checkpoints).
CENTRED_SHIFTS_ABOVE = 10.0

# with this many runs or fewer, run_noise has at most 2 degrees of freedom off the trend: say so
MIN_RUNS_FOR_RUN_NOISE = 4

# soft_buckets="auto": soft where the expected share of problems that belong in a neighbouring
# bucket is at most this. Measured: synthetic recovery data 0.04-0.07 (30 seeds); Pythia on
# GSM8K 0.36 (final checkpoints <= 1.4B) and 0.21 (training checkpoints), where the scores of
# neighbouring buckets overlap, a problem's bucket says little, and the mixture did not mix
# (bucket exponents swapped between chains: r_hat 1.73).
SOFT_BUCKETS_UP_TO = 0.15
CELL_NOISE_MIN = 1e-3  # below, the counts are taken as binomial (the beta-binomial is within ~1e-6 of it)


def prepare(counts: pd.DataFrame, buckets: int = 6, exclude_hardest: int = 15, pass_at=(10,), problem_k: bool = False,
            run_shifts: str = "auto", soft_buckets="auto", cell_noise="auto"):
    """Assign buckets from the fitting data and keep the problems the law is fitted on.

    ``soft_buckets=True`` lets a problem near a border follow its neighbouring bucket's k,
    with the prior probability ``border_probabilities`` gives (see the module); ``"auto"``
    does so where the buckets separate the problems (``expected_misplaced`` at most
    ``SOFT_BUCKETS_UP_TO``).
    ``problem_k=True`` gives every problem its own k around its bucket's.
    ``run_shifts``: how the runs' shifts off the trend are sampled; ``"auto"`` picks
    ``"measured"`` with ``MIN_RUNS_FOR_RUN_NOISE`` runs or fewer (``measured_run_shifts``),
    else ``"centred"`` when the data show them (``run_dispersion``), else ``"whitened"``
    (``_whitened_run_shifts``); ``"non_centred"`` is what ``"whitened"`` replaced.
    ``cell_noise``: the logit-scale sd of one run's pass rate on one problem beyond binomial
    noise; ``"auto"`` measures it from the counts (``cell_dispersion``), a number fixes it.

    Returns the fitted table, per-problem data to keep with the forecast, and settings.
    """
    wanted = [] if pass_at is None else list(np.atleast_1d(pass_at))  # () or None: no pass@k
    if any(isinstance(k, bool) or not isinstance(k, (int, float, np.number)) or not float(k).is_integer() or k < 1 for k in wanted):
        raise ValueError(f"pass_at must be positive integers (or () for no pass@k), got {pass_at!r}")
    ks = sorted({int(k) for k in wanted})
    if soft_buckets not in (True, False, "auto"):
        raise ValueError(f"soft_buckets must be True, False or 'auto', got {soft_buckets!r}")
    if run_shifts not in RUN_SHIFTS:
        raise ValueError(f"run_shifts must be one of {list(RUN_SHIFTS)}, got {run_shifts!r}")
    assignment = assign_buckets(counts, buckets=buckets, exclude_hardest=exclude_hardest)
    kept = assignment.loc[~assignment["excluded"]].sort_values("problem").reset_index(drop=True)
    table = counts[counts["problem"].isin(kept["problem"])].reset_index(drop=True)
    run_compute = table.groupby("run", sort=False)["compute"].first()
    options = {
        "compute_ref": float(stats.gmean(run_compute.to_numpy())),
        "buckets": int(buckets),
        "exclude_hardest": int(exclude_hardest),
        "pass_at": ks,
        "problem_k": bool(problem_k),
    }
    per_problem = {
        "problem_name": assignment["problem"].astype(str).to_numpy(),
        "difficulty_score": assignment["score"].to_numpy(dtype=float),
        "bucket": assignment["bucket"].fillna(0).astype(int).to_numpy(),  # 0: excluded
    }
    # each fitted problem's pivot (see build_model), kept so that forecasts can use it too
    problem_code, run_code, run_x, _, problems = codes(table, per_problem)
    pivot_x, _ = information_pivots(table, problem_code, run_code, np.log(run_x / options["compute_ref"]), len(problems))
    pivot_compute = pd.Series(options["compute_ref"] * np.exp(pivot_x), index=problems)
    per_problem["pivot_compute"] = pivot_compute.reindex(per_problem["problem_name"]).to_numpy()  # NaN: excluded
    per_problem.update(never_solved_walls(table, per_problem, options["compute_ref"]))
    borders = border_probabilities(counts, assignment)
    per_problem["prior_easier"] = borders["p_easier"].to_numpy()
    per_problem["prior_harder"] = borders["p_harder"].to_numpy()
    misplaced = float((borders["p_easier"] + borders["p_harder"])[~assignment["excluded"].to_numpy()].mean())
    options["expected_misplaced"] = misplaced
    options["soft_buckets"] = misplaced <= SOFT_BUCKETS_UP_TO if soft_buckets == "auto" else soft_buckets
    if run_shifts == "auto":
        dispersion = run_dispersion(table, per_problem, options["compute_ref"])
        options["run_dispersion"] = dispersion
        if table["run"].nunique() <= MIN_RUNS_FOR_RUN_NOISE:
            run_shifts = "measured"
        else:
            run_shifts = "centred" if dispersion > CENTRED_SHIFTS_ABOVE else "whitened"
    options["run_shifts"] = run_shifts
    if isinstance(cell_noise, str) and cell_noise == "auto":
        cell_noise = cell_dispersion(table, per_problem, options["compute_ref"])
    elif isinstance(cell_noise, bool) or not isinstance(cell_noise, (int, float, np.number)) or not 0 <= cell_noise < 5:
        raise ValueError(f"cell_noise must be 'auto' or a number in [0, 5) (a logit-scale sd), got {cell_noise!r}")
    options["cell_noise"] = float(cell_noise)
    _warn_what_the_data_cannot_tell(table, per_problem, options)
    return Prepared(table, per_problem, options)


def _warn_what_the_data_cannot_tell(table: pd.DataFrame, per_problem: dict, options: dict) -> None:
    """Before sampling, one sentence per part of the law these counts leave to its prior."""
    runs = table["run"].nunique()
    if runs <= MIN_RUNS_FOR_RUN_NOISE:
        warnings.warn(
            f"only {runs} runs: how far one new run lands off the trend (run_noise) is learned from "
            f"{max(runs - 2, 0)} shift(s) off the trend, measured before sampling, so its prior (HalfNormal(0.5)) "
            "still sets much of the predictive interval's width; fit more runs (models or checkpoints) to measure it",
            IdentifiabilityWarning,
            stacklevel=4,
        )
    never = walls(per_problem)[0]
    bucket = kept_buckets(per_problem).to_numpy()
    for label in np.unique(bucket):
        if never[bucket == label].all():
            warnings.warn(
                f"bucket {label}: no fitted run solved any of its {int((bucket == label).sum())} problems, so its "
                "forecast rests on the priors of its level and exponent and on the bound its zero counts set; "
                "sample more per problem, or leave more of the hardest out (exclude_hardest)",
                IdentifiabilityWarning,
                stacklevel=4,
            )


def structure(options: dict) -> tuple:
    """What changes the model's graph besides the priors: a compiled sampler is reused only within it."""
    return (
        options.get("run_shifts", "non_centred"), options.get("problem_k", False), options.get("soft_buckets", False),
        _small_betas(options), _binomial(options),
    )


def _small_betas(options: dict) -> bool:
    """Whether a beta-binomial parameter can fall below STIRLING_FROM, where count_likelihood.log_rising shifts.

    Both parameters are at least 1/τ² (τ the cell noise; see count_likelihood.log_likelihood), so with
    τ ≤ 1/√STIRLING_FROM ≈ 0.45 the shifted branch is never taken, and leaving it out of the
    graph makes the likelihood cheaper (benchmarks/pass_rate_likelihood.py).
    """
    return 1 / sampled_cell_noise(options) ** 2 < STIRLING_FROM


def _binomial(options: dict) -> bool:
    """Whether the counts show no cell noise (below CELL_NOISE_MIN): then the likelihood is the
    binomial itself, the beta-binomial's limit and ~12× cheaper per count."""
    return options.get("cell_noise", 0.0) < CELL_NOISE_MIN


def likelihood_form(options: dict) -> dict:
    """The count likelihood's static settings (count_likelihood.count_log_likelihood's keywords)."""
    return {"small_betas": _small_betas(options), "binomial": _binomial(options)}


def sampled_cell_noise(options: dict) -> float:
    """The cell noise the model uses: the measured one, at least CELL_NOISE_MIN."""
    return max(options.get("cell_noise", 0.0), CELL_NOISE_MIN)
