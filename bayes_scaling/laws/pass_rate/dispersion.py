"""What the counts show before sampling: how far whole runs sit off their problems' trends, and the
cell noise beyond binomial noise; measured from weighted lines of log λ̂ against log compute.

Measured rather than sampled where sampling them crawled (see each function); ``preparing.py``
uses them to choose the model's form, ``model.py`` to hold the few runs' shifts at their estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.laws.pass_rate.problems import codes

UNSEEN_SHIFT_VARIANCE = 1e4  # a run without informative counts: its measured shift says nothing of run_noise
CELL_NOISE_Z = 1.645  # cell_dispersion: an excess over binomial noise below this many sds of it (5%, one-sided) is none


def run_dispersion(table: pd.DataFrame, per_problem: dict, compute_ref: float) -> float:
    """How far whole runs sit off their problems' trends, in units of binomial noise (~1 if not at all).

    Per problem, a weighted line of log λ̂ = log(−log p̂) against log compute (the law is that
    line); per run, the weighted mean residual over its problems, squared over its variance,
    averaged over runs (with the two degrees of freedom of each line given back). Only cells
    with 0 < correct < n count: at 0 or n the smoothed λ̂ says more about the smoothing.
    """
    residual, weight, run_code, runs = _trend_residuals(table, per_problem, compute_ref)
    run_weight = np.bincount(run_code, weights=weight, minlength=runs)
    seen = run_weight > 0
    if seen.sum() < 3:
        return 0.0  # too few informative runs to see a shift
    shift = np.bincount(run_code, weights=weight * residual, minlength=runs)[seen] / run_weight[seen]
    return float(np.mean(shift**2 * run_weight[seen]) * seen.sum() / (seen.sum() - 2))


def measured_run_shifts(table: pd.DataFrame, per_problem: dict, compute_ref: float, basis: np.ndarray):
    """The runs' shifts off the trend, measured: estimates on an orthonormal off-trend basis, and variances.

    Weighted least squares of log λ̂ on a line per problem plus one shift per run in the span of
    ``basis`` (Fisher weights of binomial noise, as in ``run_dispersion``), the lines profiled
    out: per problem, only what its own line cannot absorb informs the shifts. The estimate's
    covariance is rotated to its principal axes, so the returned basis has independent
    coordinates: ``(rotated basis, estimates, variances)``. Problems with fewer than three
    informative runs say nothing (a line through two points absorbs any shift).
    """
    problem_code, run_code, run_compute, _, problems = codes(table, per_problem)
    x = np.log(run_compute / compute_ref)
    y, weight = informative_log_lambda(table)
    free = basis.shape[1]
    information, score = np.zeros((free, free)), np.zeros(free)
    for problem in range(len(problems)):
        cells = np.flatnonzero((problem_code == problem) & (weight > 0))
        if cells.size < 3:
            continue
        w, design, shifts = weight[cells], np.column_stack([np.ones(cells.size), x[run_code[cells]]]), basis[run_code[cells]]
        # W - W X (X'WX)^-1 X'W: the weighted residual maker of the problem's own line
        wx = w[:, None] * design
        maker = np.diag(w) - wx @ np.linalg.solve(design.T @ wx, wx.T)
        information += shifts.T @ maker @ shifts
        score += shifts.T @ maker @ y[cells]
    if np.linalg.matrix_rank(information) < free:  # directions no problem informs: they say nothing of run_noise
        information = information + np.eye(free) / UNSEEN_SHIFT_VARIANCE
    covariance = np.linalg.inv(information)
    variance, axes = np.linalg.eigh(covariance)
    return basis @ axes, axes.T @ covariance @ score, variance


def cell_dispersion(table: pd.DataFrame, per_problem: dict, compute_ref: float) -> float:
    """The cell noise τ the counts show: the sd, on the logit scale, of one problem's pass rate in one
    run around its problem's trend and its run's shift, beyond binomial noise (0 if none).

    A moment estimate from the same residuals as ``run_dispersion``: each run's weighted mean
    residual (its shift) is removed, and what is left, Σ w·r², is compared with the degrees of
    freedom binomial noise alone would fill; the excess is τ² times Σ w·((1 − p̂)/λ̂)², the
    logit-scale information. Measured, not sampled: sampled, τ traded off against the spread of
    the problems' levels and the chains crawled (Pythia GSM8K, fit <= 1.4B: r_hat 1.016, ESS 224).
    0 unless the excess is significant (``CELL_NOISE_Z``): binomial counts give Σ w·r² ~ χ²(dof),
    so half of them would otherwise show a small τ by chance (synthetic tables: 0.015-0.028, at
    z = -2.9 to 0.4; Pythia GSM8K: z = 15 to 409), and with τ = 0 the likelihood is the binomial.
    """
    residual, weight, run_code, runs = _trend_residuals(table, per_problem, compute_ref)
    used = weight > 0
    if used.sum() < 3:
        return 0.0
    run_weight = np.bincount(run_code, weights=weight, minlength=runs)
    shift = np.divide(np.bincount(run_code, weights=weight * residual, minlength=runs), run_weight,
                      out=np.zeros(runs), where=run_weight > 0)
    left = residual - shift[run_code]
    problem_code = codes(table, per_problem)[0]
    dof = used.sum() - 2 * np.unique(problem_code[used]).size - np.count_nonzero(run_weight > 0)
    if dof <= 0:
        return 0.0
    log_lam, _ = smoothed_log_lambda(table)
    lam = np.exp(log_lam)
    logit_information = weight * ((1 - np.exp(-lam)) / lam) ** 2
    excess = float(np.sum(weight * left**2)) - dof
    if excess < CELL_NOISE_Z * np.sqrt(2 * dof):
        return 0.0  # within what binomial noise alone gives (Σ w·r² ~ χ²(dof)): the counts show none
    return float(np.sqrt(excess / logit_information[used].sum() * (used.sum() / dof)))


def _trend_residuals(table: pd.DataFrame, per_problem: dict, compute_ref: float):
    """(residual, weight, run code, number of runs) per count: log λ̂ off its problem's weighted line
    in log compute, with the Fisher weight of cells with 0 < correct < n (0 for the others and
    for problems with fewer than two such runs)."""
    problem_code, run_code, run_compute, _, problems = codes(table, per_problem)
    x = np.log(run_compute / compute_ref)[run_code]
    y, weight = informative_log_lambda(table)
    slope, intercept, _, has_line = weighted_lines(problem_code, x, y, weight, len(problems))
    residual = y - intercept[problem_code] - slope[problem_code] * x
    return residual, np.where(has_line[problem_code], weight, 0.0), run_code, len(run_compute)


def weighted_lines(problem_code, x, y, weight, problems: int):
    """Per problem, the weighted least-squares line of y against x: (slope, intercept, the
    slope's precision per unit weight Σw·(x − x̄)², whether it has one: two or more weighted x)."""
    sums = {name: np.bincount(problem_code, weights=weight * v, minlength=problems)
            for name, v in (("w", 1.0), ("x", x), ("y", y), ("xx", x * x), ("xy", x * y))}
    det = sums["w"] * sums["xx"] - sums["x"] ** 2
    has_line = det > 1e-9 * np.maximum(sums["w"], 1.0) ** 2
    slope = np.divide(sums["w"] * sums["xy"] - sums["x"] * sums["y"], det, out=np.zeros_like(det), where=has_line)
    intercept = np.divide(sums["y"] - slope * sums["x"], sums["w"], out=np.zeros_like(det), where=has_line)
    precision = np.divide(det, sums["w"], out=np.zeros_like(det), where=has_line)
    return slope, intercept, precision, has_line


def informative_log_lambda(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed log λ̂ per count and its Fisher weight, 0 for counts at 0 or n (there the
    smoothing, not the count, would set λ̂)."""
    y, weight = smoothed_log_lambda(table)
    correct = table["correct"].to_numpy()
    return y, np.where((correct > 0) & (correct < table["n"].to_numpy()), weight, 0.0)


def smoothed_log_lambda(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, log λ̂ from the smoothed rate p̂ = (c + ½)/(n + 1), and its Fisher weight n·λ̂²·p̂/(1 − p̂)."""
    n = table["n"].to_numpy(dtype=float)
    p = (table["correct"].to_numpy(dtype=float) + 0.5) / (n + 1)
    lam = -np.log(p)
    return np.log(lam), n * lam**2 * p / (1 - p)


def off_trend_basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning the vectors over runs with no constant and no linear
    trend in ``x``: ``basis @ N(0, σ²I)`` is ``N(0, σ²·P)``, P the off-trend projection."""
    design = np.column_stack([np.ones_like(x), x])
    if np.linalg.matrix_rank(design) < 2:  # one compute for all runs: remove the mean only
        design = design[:, :1]
    left, _, _ = np.linalg.svd(design, full_matrices=True)
    return left[:, design.shape[1] :]
