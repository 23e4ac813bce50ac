"""Compute-optimal allocation: how a budget splits into parameters and tokens, with intervals.

It reads a fitted Chinchilla law (``L(N, D) = E + A/N^α + B/D^β``) and answers per posterior
draw, so the allocation carries the law's uncertainty. It lives apart from the law's model
because it is a question asked of a forecast, not part of fitting one.

Under ``C = 6·N·D`` the optimum has a closed form. Under another cost ``C = D·f(N)``
(``bayes_scaling.cost_models``) it is found numerically along the budget line ``D = C/f(N)``:
the reducible loss ``A·N^-α + B·(C/f(N))^-β`` is, in ``u = ln N``, a sum of exponentials of
convex functions whenever ``f`` is a positive sum of powers of ``N`` (``ln f`` is then a
log-sum-exp of linear functions of ``u``), so it has one minimum. A grid in ``ln N`` finds the
cell that holds it for every draw at once, and a golden-section search, vectorised over draws,
narrows it to ``TOLERANCE``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.cost_models import CostModel, fit_cost
from bayes_scaling.intervals import interval_frame
from bayes_scaling.laws.chinchilla import FLOPS_PER_PARAM_TOKEN, NAME

GRID_STEP = 0.25  # the grid's spacing in ln N (a factor 1.28): it only has to put the minimum in a cell
# golden section stops when the bracket in ln N is this narrow; comparing losses in floating point
# limits it anyway to a few 1e-7 in N* (the loss is flat at its minimum), far inside any interval
TOLERANCE = 1e-8
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def compute_optimal(fc, budget, cost=None) -> pd.DataFrame:
    """Compute-optimal parameters N*, tokens D* and tokens per parameter at each budget.

    Per posterior draw. With ``cost=None``, in closed form: minimising ``A/N^α + B/D^β`` on the
    line ``C = 6·N·D`` gives ``N* = G·(C/6)^(β/(α+β))`` with ``G = (αA/(βB))^(1/(α+β))`` and
    ``D* = C/(6·N*)``. With a cost model ``C = D·f(N)`` (``six_nd``, ``transformer_cost``,
    ``fit_cost``, or any ``CostModel``), numerically: per draw, the ``N`` that minimises
    ``L(N, C/f(N))`` for ``N`` from 1 parameter up to the model that sees one token, and
    ``D* = C/f(N*)``. The loss law is the same; what changes is the budget line, so the
    budget must be counted as the cost model counts it, and ``D*·6·N*`` is no longer ``C``.
    With Kaplan et al.'s attention term, a token costs relatively more for a small model:
    tokens per parameter fall, ``D*`` falls, and ``N*`` falls where ``β > 1/3`` and rises
    where ``β < 1/3`` (docs/chinchilla-law.md derives it). 4,000 draws take a few tens of
    milliseconds per budget.

    Parameters
    ----------
    fc : Forecast
        A forecast of the ``"chinchilla"`` law (``bs.forecast(..., law="chinchilla")``).
    budget : float or array_like of float
        One or more training budgets in FLOPs, each finite and > 0.
    cost : CostModel or "fitted", optional
        How a run's FLOPs depend on ``N`` and ``D``. Default: ``6·N·D`` in closed form.
        ``"fitted"``: ``fit_cost(fc.runs)``, fitted to the table's logged compute.

    Returns
    -------
    pandas.DataFrame
        One row per budget and quantity (``params``, ``tokens``, ``tokens_per_param``), with
        columns ``budget``, ``quantity``, the posterior ``mean`` and ``median`` and the
        equal-tailed 50% and 90% intervals (``lower_50``, ``upper_50``, ``lower_90``, ``upper_90``).
        ``attrs["cost"]`` names the cost model.

    Raises
    ------
    ValueError
        If ``fc`` is not a forecast of the chinchilla law, a budget is not a finite number > 0,
        a budget is too small for any model under the cost model, the loss falls to the edge of
        the search for some draws, the cost per token is not positive or falls as ``N`` grows,
        or (``"fitted"``) the table's compute cannot be fitted (see ``fit_cost``).
    TypeError
        If ``cost`` is neither a ``CostModel``, ``"fitted"`` nor None.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> import pandas as pd
    >>> runs = bs.load_runs("chinchilla.csv")          # columns params, tokens, loss
    >>> fc = bs.forecast(runs, target=pd.DataFrame({"params": [70e9], "tokens": [1.4e12]}),
    ...                  law="chinchilla", seed=0)
    >>> bs.compute_optimal(fc, [5.76e23, 1e25])
    >>> bs.compute_optimal(fc, 1e24, cost=bs.transformer_cost(context_length=8192))
    """
    if getattr(fc, "law", None) != NAME:
        raise ValueError(f"compute_optimal needs a forecast of the chinchilla law, got law {getattr(fc, 'law', None)!r}")
    budgets = np.atleast_1d(np.asarray(budget, dtype=float))
    if budgets.ndim != 1 or budgets.size == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):
        raise ValueError(f"budget must be one or more finite compute budgets > 0 (FLOPs), got {budget!r}")
    if isinstance(cost, str) and cost == "fitted":
        cost = fit_cost(fc.runs)
    elif cost is not None and not isinstance(cost, CostModel):
        raise TypeError(f"cost must be a CostModel (bs.six_nd(), bs.transformer_cost(...), bs.fit_cost(...)), 'fitted' or None; got {cost!r}")
    post = fc.idata.posterior
    alpha, beta, A, B = (post[name].to_numpy().reshape(-1, 1) for name in ("alpha", "beta", "A", "B"))
    if cost is None:
        half = budgets / FLOPS_PER_PARAM_TOKEN
        # in logs: A and B are large, (C/6)^... overflows nothing but stays exact
        log_g = (np.log(alpha * A) - np.log(beta * B)) / (alpha + beta)
        params = np.exp(log_g + beta / (alpha + beta) * np.log(half))
        tokens = half / params
    else:
        law = (np.log(A[:, 0]), alpha[:, 0], np.log(B[:, 0]), beta[:, 0])
        params = np.column_stack([np.exp(optimal_log_params(cost, c, *law)) for c in budgets])
        tokens = budgets / cost.flops_per_token(params)
    frames = [
        interval_frame(draws, budget=budgets).assign(quantity=name)
        for name, draws in (("params", params), ("tokens", tokens), ("tokens_per_param", tokens / params))
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["budget", "quantity"] + [c for c in frame.columns if c not in ("budget", "quantity")]]
    frame.attrs["cost"] = "6·N·D (closed form)" if cost is None else cost.name
    return frame


def optimal_log_params(cost: CostModel, budget: float, log_a, alpha, log_b, beta) -> np.ndarray:
    """``ln N*`` per draw: the minimum of ``A·N^-α + B·(C/f(N))^-β`` along ``C = D·f(N)``.

    ``log_a``, ``alpha``, ``log_b``, ``beta``: one value per draw (``ln A``, ``ln B``). A grid in
    ``ln N`` from 1 parameter to ``C`` (where at least one token fits) brackets each draw's
    minimum in two cells; a golden-section search narrows every bracket to ``TOLERANCE`` at once.
    """
    log_budget = np.log(budget)
    grid = np.arange(0.0, log_budget + GRID_STEP, GRID_STEP)
    per_token = cost.flops_per_token(np.exp(grid))
    falls = np.flatnonzero(np.diff(per_token) < 0)
    if falls.size:
        i = falls[0]
        raise ValueError(
            f"cost model {cost.name!r}: FLOPs per token fall from {per_token[i]:.4g} at {np.exp(grid[i]):.4g} parameters "
            f"to {per_token[i + 1]:.4g} at {np.exp(grid[i + 1]):.4g}; a larger model cannot cost less per token"
        )
    log_tokens = log_budget - np.log(per_token)
    grid, log_tokens = grid[log_tokens >= 0], log_tokens[log_tokens >= 0]  # at least one token: a prefix of the grid
    if grid.size < 3:
        raise ValueError(
            f"budget {budget:.4g} FLOPs is too small for any model under cost model {cost.name!r}: "
            f"a 1-parameter model costs {per_token[0]:.4g} FLOPs per token"
        )
    col = (slice(None), None)
    loss = np.exp(log_a[col] - alpha[col] * grid) + np.exp(log_b[col] - beta[col] * log_tokens)
    best = np.argmin(loss, axis=1)
    edge = (best == 0) | (best == grid.size - 1)
    if edge.any():
        raise ValueError(
            f"budget {budget:.4g} FLOPs under cost model {cost.name!r}: for {int(edge.sum())} of {edge.size} posterior "
            f"draws the loss keeps falling to the edge of the search ({'1 parameter' if best[edge][0] == 0 else 'one token'}); "
            "no compute-optimal model lies inside it"
        )
    low, high = grid[best - 1], grid[best + 1]

    def reducible(u):
        return np.exp(log_a - alpha * u) + np.exp(log_b - beta * (log_budget - np.log(cost.flops_per_token(np.exp(u)))))

    steps = int(np.ceil(np.log(TOLERANCE / (2 * GRID_STEP)) / np.log(_GOLDEN)))
    for _ in range(steps):
        inner_low, inner_high = high - _GOLDEN * (high - low), low + _GOLDEN * (high - low)
        left = reducible(inner_low) < reducible(inner_high)  # the minimum is in [low, inner_high]
        low, high = np.where(left, low, inner_low), np.where(left, inner_high, high)
    return (low + high) / 2
