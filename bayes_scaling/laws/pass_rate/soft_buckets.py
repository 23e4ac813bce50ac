"""Soft bucket borders: a problem scored near a border may follow its neighbouring bucket's k, the
choice marginalised over its row of counts with prior weights from ``border_probabilities``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_scaling.laws.pass_rate.count_likelihood import count_log_likelihood
from bayes_scaling.laws.pass_rate.never_solved import walls
from bayes_scaling.laws.pass_rate.problems import kept_buckets

# soft buckets: a neighbour's prior weight below this and the problem follows its own bucket's k
NEIGHBOUR_WEIGHT_MIN = 1e-6
NEIGHBOURS = ("easier", "own", "harder")  # soft buckets: whose k a problem may follow


def neighbours(bucket_code: np.ndarray, buckets: int) -> np.ndarray:
    """(problem, 3): the 0-based buckets whose k a problem may follow: easier, own, harder
    (clipped at the ends, where the prior gives the missing neighbour no weight)."""
    return np.clip(bucket_code[:, None] + np.array([-1, 0, 1]), 0, buckets - 1)


def membership_prior(per_problem) -> np.ndarray:
    """(kept problem, 3), model order: prior probability of following the easier neighbour's,
    its own and the harder neighbour's k (``border_probabilities``)."""
    kept = kept_buckets(per_problem).index
    prior = pd.DataFrame(
        {name: np.asarray(per_problem[name], dtype=float) for name in ("prior_easier", "prior_harder")},
        index=np.asarray(per_problem["problem_name"]).astype(str),
    ).loc[kept]
    easier, harder = prior["prior_easier"].to_numpy(), prior["prior_harder"].to_numpy()
    never = walls(per_problem)[0]  # integrated out with their own bucket's k (add_never_solved_bound)
    easier, harder = np.where(never, 0.0, easier), np.where(never, 0.0, harder)
    return np.column_stack([easier, np.maximum(1 - easier - harder, 0.0), harder])


def ambiguous_problems(weights: np.ndarray) -> np.ndarray:
    """Kept problems (model positions) whose score lies near enough a border that a neighbour's
    k gets prior weight; the others follow their own bucket's k (a weight below
    ``NEIGHBOUR_WEIGHT_MIN`` is a score ~4.8 standard errors from the border)."""
    return np.flatnonzero((weights[:, 0] > NEIGHBOUR_WEIGHT_MIN) | (weights[:, 2] > NEIGHBOUR_WEIGHT_MIN))


class SoftBuckets:
    """The binomial likelihood where a problem near a border may follow a neighbour's k.

    For each such ("ambiguous") problem the choice among {easier neighbour's, own bucket's,
    harder neighbour's} k is marginalised over its whole row of counts (one choice per
    problem, not per count), weighted by ``border_probabilities``; every other problem
    keeps its bucket's k, as with hard buckets. The posterior choice probabilities are kept
    as ``membership`` (ambiguous problem, neighbour) for the forecast to draw from. A
    problem's level at its pivot keeps its own bucket's prior whichever k it follows, and the
    ``alpha`` in the posterior is its α under its own bucket's k (``_problem_laws`` moves it
    to the k followed). Index arrays are ``pm.Data``: a compiled sampler reused for data of
    the same shape must not keep another data set's.
    """

    def __init__(self, per_problem, buckets: int, problem_code, run_code, bucket_code, form: dict):
        self.form = form  # see likelihood_form
        weights = membership_prior(per_problem)
        self.ambiguous = ambiguous_problems(weights)
        rows = np.flatnonzero(np.isin(problem_code, self.ambiguous))
        self.rows, self.row_problem, self.row_run = rows, problem_code[rows], run_code[rows]
        self.compact = np.searchsorted(self.ambiguous, problem_code[rows])  # row -> position among ambiguous
        self.alternatives = neighbours(bucket_code, buckets)[self.ambiguous][:, [0, 2]]
        # a weight of exactly 0 (no neighbour) must stay finite for the gradients: e^-690 is 0 in effect
        self.log_weight = np.log(np.maximum(weights[self.ambiguous], 1e-300))
        self.names = list(kept_buckets(per_problem).index[self.ambiguous])

    def add_likelihood(self, log_lam, log_k, within, log_alpha_at_pivot, pivot, x, run_shift, n, correct, cell_noise):
        cell_own = count_log_likelihood(log_lam, n, correct, cell_noise, **self.form)
        if not self.ambiguous.size:
            pm.Potential("soft_bucket_likelihood", cell_own.sum())
            return
        model = pm.modelcontext(None)
        model.add_coord("ambiguous_problem", self.names)
        model.add_coord("neighbour", list(NEIGHBOURS))
        rows, problem, run, compact = (
            pm.Data(f"soft_{name}", values)
            for name, values in (("rows", self.rows), ("row_problem", self.row_problem), ("row_run", self.row_run), ("compact", self.compact))
        )
        ambiguous = pm.Data("soft_ambiguous", self.ambiguous)
        k_alternative = pt.exp(log_k[pm.Data("soft_alternatives", self.alternatives)] + within[ambiguous][:, None])
        log_lam_alternative = (
            log_alpha_at_pivot[problem][:, None]
            - k_alternative[compact] * (x[run] - pivot[problem])[:, None]
            + run_shift[run][:, None]
        )
        cell_alternative = count_log_likelihood(
            log_lam_alternative, n[rows][:, None], correct[rows][:, None], cell_noise, **self.form
        )
        size = self.ambiguous.size
        own = pt.inc_subtensor(pt.zeros(size)[compact], cell_own[rows])
        other = pt.inc_subtensor(pt.zeros((size, 2))[compact], cell_alternative)
        joint = pt.stack([other[:, 0], own, other[:, 1]], axis=1) + pm.Data("soft_log_prior", self.log_weight)
        total = pt.logsumexp(joint, axis=1, keepdims=True)
        pm.Potential("soft_bucket_likelihood", cell_own.sum() - own.sum() + total.sum())
        pm.Deterministic("membership", pt.exp(joint - total), dims=("ambiguous_problem", "neighbour"))
