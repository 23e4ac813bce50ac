"""Compute-optimal allocation: how a budget splits into parameters and tokens, with intervals.

It reads a fitted Chinchilla law (``L(N, D) = E + A/N^α + B/D^β``) and answers per posterior
draw, so the allocation carries the law's uncertainty. It lives apart from the law's model
because it is a question asked of a forecast, not part of fitting one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.intervals import interval_frame
from bayes_scaling.laws.chinchilla import FLOPS_PER_PARAM_TOKEN, NAME


def compute_optimal(fc, budget) -> pd.DataFrame:
    """Compute-optimal parameters N*, tokens D* and tokens per parameter at each budget.

    Per posterior draw, in closed form: minimising ``A/N^α + B/D^β`` on the line
    ``C = 6·N·D`` gives ``N* = G·(C/6)^(β/(α+β))`` with ``G = (αA/(βB))^(1/(α+β))``
    and ``D* = C/(6·N*)``.

    Parameters
    ----------
    fc : Forecast
        A forecast of the ``"chinchilla"`` law (``bs.forecast(..., law="chinchilla")``).
    budget : float or array_like of float
        One or more training budgets in FLOPs, each finite and > 0.

    Returns
    -------
    pandas.DataFrame
        One row per budget and quantity (``params``, ``tokens``, ``tokens_per_param``), with
        columns ``budget``, ``quantity``, the posterior ``mean`` and ``median`` and the
        equal-tailed 50% and 90% intervals (``lower_50``, ``upper_50``, ``lower_90``, ``upper_90``).

    Raises
    ------
    ValueError
        If ``fc`` is not a forecast of the chinchilla law, or a budget is not a finite number > 0.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> import pandas as pd
    >>> runs = bs.load_runs("chinchilla.csv")          # columns params, tokens, loss
    >>> fc = bs.forecast(runs, target=pd.DataFrame({"params": [70e9], "tokens": [1.4e12]}),
    ...                  law="chinchilla", seed=0)
    >>> bs.compute_optimal(fc, [5.76e23, 1e25])
    """
    if getattr(fc, "law", None) != NAME:
        raise ValueError(f"compute_optimal needs a forecast of the chinchilla law, got law {getattr(fc, 'law', None)!r}")
    budgets = np.atleast_1d(np.asarray(budget, dtype=float))
    if budgets.ndim != 1 or budgets.size == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):
        raise ValueError(f"budget must be one or more finite compute budgets > 0 (FLOPs), got {budget!r}")
    post = fc.idata.posterior
    alpha, beta, A, B = (post[name].to_numpy().reshape(-1, 1) for name in ("alpha", "beta", "A", "B"))
    half = budgets / FLOPS_PER_PARAM_TOKEN
    # in logs: A and B are large, (C/6)^... overflows nothing but stays exact
    log_g = (np.log(alpha * A) - np.log(beta * B)) / (alpha + beta)
    params = np.exp(log_g + beta / (alpha + beta) * np.log(half))
    tokens = half / params
    frames = [
        interval_frame(draws, budget=budgets).assign(quantity=name)
        for name, draws in (("params", params), ("tokens", tokens), ("tokens_per_param", tokens / params))
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["budget", "quantity"] + [c for c in frame.columns if c not in ("budget", "quantity")]]
