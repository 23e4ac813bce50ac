"""Difference curves between recipes, as ``RecipeComparison`` draws and reads them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def flat_draws(draws: np.ndarray, bucket_labels) -> np.ndarray:
    """(chain, draw, grid[, bucket]) -> (chain·draw, grid), per-bucket laws' "all" bucket."""
    draws = np.asarray(draws)
    if bucket_labels is not None:
        draws = draws[..., list(bucket_labels).index("all")]
    return draws.reshape(-1, draws.shape[-1])


def median_crossings(grid: np.ndarray, curves: dict, reference: str, rising: bool) -> pd.DataFrame:
    """Where each curve's median (a recipe minus ``reference``, draws by ``grid``) changes sign,
    interpolated linearly in log compute, and whether the recipe is the better one above it."""
    rows = []
    for name, draws in curves.items():
        median = np.median(draws, axis=0)
        for i in np.flatnonzero(np.sign(median[:-1]) * np.sign(median[1:]) < 0):
            share = median[i] / (median[i] - median[i + 1])  # linear in log compute
            compute = float(np.exp(np.log(grid[i]) + share * np.log(grid[i + 1] / grid[i])))
            above = median[i + 1] > 0 if rising else median[i + 1] < 0
            rows.append({"recipe": name, "reference": reference, "compute": compute, "better_above": bool(above)})
    return pd.DataFrame(rows, columns=["recipe", "reference", "compute", "better_above"])
