"""Synthetic ladders drawn from a known law, for recovery and model-comparison tests.

``evaluated_ladder``: runs evaluated several times each, with known run and evaluation noise.

At each of a few compute budgets, three model sizes (a third, once and three times the
size at 20 tokens per parameter) share the budget (C = 6·N·D). Under the loss law the
loss depends on C alone; under the Chinchilla law it also depends on how C is split,
which is what lets LOO tell the two apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Hoffmann et al.'s Approach-3 values, rounded: the truth of the Chinchilla ladders.
CHINCHILLA_TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
LOSS_TRUTH = {"a": 60.0, "b": -0.09, "c": 1.6}  # L(C) = a·C^b + c: about 3.0..2.4 over the ladder
NOISE = 0.005


def isoflop_ladder(law: str, seed: int, budgets=np.geomspace(1e18, 1e21, 6)) -> pd.DataFrame:
    """Runs (params, tokens, compute, loss) with relative log-normal noise NOISE."""
    rng = np.random.default_rng(seed)
    compute = np.repeat(budgets, 3)
    params = np.sqrt(compute / (6 * 20)) * np.tile([1 / 3, 1.0, 3.0], len(budgets))
    tokens = compute / (6 * params)
    mean = true_mean(law, params, tokens)
    loss = mean * np.exp(NOISE * rng.standard_normal(mean.size))
    return pd.DataFrame({"compute": compute, "params": params, "tokens": tokens, "loss": loss})


def true_mean(law: str, params, tokens):
    if law == "chinchilla":
        t = CHINCHILLA_TRUTH
        return t["E"] + t["A"] / params ** t["alpha"] + t["B"] / tokens ** t["beta"]
    t = LOSS_TRUTH
    return t["a"] * (6 * params * tokens) ** t["b"] + t["c"]


# evaluated_ladder's truth: run-to-run and evaluation noise (log scale)
SIGMA_RUN, SIGMA_EVAL = 0.01, 0.003


def evaluated_truth(compute):
    """The mean loss of evaluated_ladder's runs: L = 2 + 3·(C/1e17)^-0.3."""
    return 2.0 + 3.0 * (np.asarray(compute) / 1e17) ** -0.3


def evaluated_ladder(seed: int = 0, computes: int = 8, seeds: int = 2, evaluations: int = 4) -> pd.DataFrame:
    """``seeds`` runs at each of ``computes`` budgets from 1e17 to 1e20 FLOPs, each evaluated
    ``evaluations`` times (an ``evaluation`` column): run noise SIGMA_RUN, evaluation noise SIGMA_EVAL."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, compute in enumerate(np.geomspace(1e17, 1e20, computes)):
        for s in range(seeds):
            run_loss = evaluated_truth(compute) * np.exp(SIGMA_RUN * rng.standard_normal())
            for e in range(evaluations):
                rows.append({"run": f"c{i}s{s}", "compute": compute, "seed": s, "evaluation": f"shard{e}",
                             "loss": run_loss * np.exp(SIGMA_EVAL * rng.standard_normal())})
    return pd.DataFrame(rows)
