"""How much would runs we have not trained narrow the forecast? Two answers from the posterior draws.

For a design (a set of candidate runs) the question is the expected width of the target's
interval once their losses are known. The full answer refits the law for every possible outcome;
both estimators here use the draws we have instead.

``LinearUpdate`` (the default): the Bayes linear update, the analysis step of an ensemble Kalman
filter. Across the posterior draws, the log of the target's draw ``T`` and the log of each
candidate's predictive draw ``Y`` (mean curve times run noise) are jointly distributed; after
observing ``Y_D``, ``Var(T | Y_D) ≈ Var(T) - c' Σ⁻¹ c`` with ``c = Cov(T, Y_D)``, ``Σ = Cov(Y_D)``,
and the width shrinks by ``sqrt`` of that ratio (the interval keeps its shape). The residual
variance of the best linear predictor bounds the expected posterior variance from above, so in
variance the estimate is conservative; it cannot see what a run teaches about the noise ``sigma``
or about a change of shape. It needs no simulation, so a plan of many runs costs a few small
linear solves.

``Reweighting``: simulate M "worlds" (a posterior draw each, and the candidates' losses that world
would produce), weight every posterior draw by the likelihood of that world's losses
(``Law.run_log_density``), and take the weighted quantiles of the target's draws: importance
sampling from the current posterior to the updated one. Exact as the draws grow, while one
design's outcomes do not move the posterior far outside the draws we have; weights are truncated
at ``mean·sqrt(S)`` (Ionides 2008) and PSIS's Pareto k (Vehtari et al. 2024) says where that
fails (k > 0.7). It fails for plans of many runs far past the ladder, where the linear update
does not.

benchmarks/run_design.py checks both against full refits on Chinchilla's points.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayes_scaling.quiet import quietly

UNRELIABLE_K = 0.7  # Pareto k above which importance weights are unreliable (Vehtari et al. 2024)
K_WORLDS = 100  # worlds whose weights' Pareto k is estimated (PSIS costs ~0.3 ms a world)
# A narrowing counts when it is this many Monte Carlo standard errors above zero: below that the
# draws cannot tell the run from no run, and per FLOP a cheap run's noise would rank first.
CLEAR = 2.0


class Step(NamedTuple):
    """Adding one run to a design: the expected width after, the narrowing (and its Monte Carlo
    error, NaN where there is none), whether it is clear of that error, the new design's state."""

    width: float
    gain: float
    gain_se: float
    clear: bool
    state: object


def weighted_widths(values: np.ndarray, weights: np.ndarray, prob: float) -> np.ndarray:
    """Width of the equal-tailed ``prob`` interval of ``values`` (S,) under each row of ``weights`` (M, S)."""
    order = np.argsort(values)
    ordered = values[order]
    cumulative = np.cumsum(weights[:, order], axis=1)
    cumulative /= cumulative[:, -1:]
    tail = (1 - prob) / 2
    last = len(values) - 1
    lower = ordered[np.minimum((cumulative < tail).sum(axis=1), last)]
    upper = ordered[np.minimum((cumulative < 1 - tail).sum(axis=1), last)]
    return upper - lower


def width_now(values: np.ndarray, prob: float) -> float:
    """The interval's width before any new run, by the same estimator as ``weighted_widths``."""
    return float(weighted_widths(values, np.ones((1, len(values))), prob)[0])


class LinearUpdate:
    """The Bayes linear update of log T on the candidates' log predictive draws (module docstring)."""

    def __init__(self, values: np.ndarray, predictive: np.ndarray, prob: float, now: float | None = None):
        """``values``: the target's draws (S,); ``predictive``: each candidate's predictive draws (S, n),
        drawn with them; ``now``: today's width if known more exactly (from more draws)."""
        self.now = width_now(values, prob) if now is None else now
        self.draws = len(values)
        self._cov = np.cov(np.column_stack([np.log(values), np.log(predictive)]), rowvar=False)
        self._variance = {(): self._cov[0, 0]}
        self.start = ()

    def variance(self, design: tuple) -> float:
        """Var(log T | the design's runs), by the linear update."""
        if design not in self._variance:
            index = np.asarray(design) + 1
            c = self._cov[0, index]
            explained = c @ np.linalg.solve(self._cov[np.ix_(index, index)], c)
            self._variance[design] = max(self._cov[0, 0] - explained, 0.0)
        return self._variance[design]

    def health(self, design: tuple) -> float:
        """No weights, so no Pareto k."""
        return np.nan

    def add(self, design: tuple, candidate: int) -> Step:
        before, after = self.variance(design), self.variance(design + (candidate,))
        width_before, width = self.now * np.sqrt(before / self._cov[0, 0]), self.now * np.sqrt(after / self._cov[0, 0])
        # the squared partial correlation of the new run with T; under no relation its estimate is ~1/S
        partial = (before - after) / before if before > 0 else 0.0
        return Step(width, width_before - width, np.nan, partial * self.draws > CLEAR**2, design + (candidate,))


class Reweighting:
    """Importance reweighting of the posterior draws over simulated worlds (module docstring)."""

    def __init__(self, values: np.ndarray, log_likelihood, prob: float):
        """``log_likelihood(j)``: (world, draw) log-densities of candidate ``j``'s simulated outcomes."""
        self.now = width_now(values, prob)
        self.values, self.prob, self.log_likelihood = values, prob, log_likelihood
        self.start = (0.0, self.now)  # (joint log weights, each world's width)

    def add(self, state: tuple, candidate: int) -> Step:
        joint, before = state
        joint = joint + self.log_likelihood(candidate)
        after = weighted_widths(self.values, truncated_weights(joint), self.prob)
        gain = np.broadcast_to(before, after.shape) - after  # paired world by world: most noise cancels
        mean, se = float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain)))
        return Step(float(after.mean()), mean, se, mean > CLEAR * se, (joint, after))

    def health(self, state: tuple) -> float:
        """The median Pareto k of a design's weights over the worlds."""
        return float(np.median(pareto_k(state[0])))


def truncated_weights(log_weights: np.ndarray) -> np.ndarray:
    """Self-normalised importance weights per row, truncated at ``mean·sqrt(S)`` and renormalised."""
    w = np.exp(log_weights - log_weights.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    cap = np.sqrt(w.shape[-1]) / w.shape[-1]
    w = np.minimum(w, cap)
    return w / w.sum(axis=-1, keepdims=True)


def pareto_k(log_weights: np.ndarray, worlds: int = K_WORLDS) -> np.ndarray:
    """PSIS's Pareto k of the weights of the first ``worlds`` worlds (one per row)."""
    with quietly(), np.errstate(over="ignore", invalid="ignore"):  # degenerate weights overflow inside PSIS: k says so
        import arviz as az

        _, k = az.psislw(np.array(log_weights[:worlds], dtype=float))
    return np.asarray(k, dtype=float)
