"""Data shipped with the package: a synthetic example ladder for the demo and docs.

``example_ladder.csv`` is *synthetic*: nine compute-optimal rungs from 3e16 to 3e19
FLOPs drawn from ``L(C) = a·C^b + c`` with known a, b, c (``EXAMPLE_TRUTH``) and 0.7%
relative seed noise, made by ``make_example_runs(seed=0)``. Knowing the truth lets the
demo show how close a forecast lands. Real ladders live under ``models/``.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

EXAMPLE_TRUTH = {"a": 988.0, "b": -0.16, "c": 1.75, "noise": 0.007}
EXAMPLE_TARGETS = (1e21, 1e22)


def true_example_loss(compute) -> np.ndarray:
    """The noise-free loss of the example ladder's recipe at ``compute``."""
    t = EXAMPLE_TRUTH
    return t["a"] * np.asarray(compute, dtype=float) ** t["b"] + t["c"]


def make_example_runs(seed: int = 0) -> pd.DataFrame:
    """Regenerate the example ladder: Chinchilla-style N = sqrt(C/120), D = 20 N."""
    rng = np.random.default_rng(seed)
    compute = np.geomspace(3e16, 3e19, 9)
    params = np.sqrt(compute / 120.0)
    loss = true_example_loss(compute) * np.exp(EXAMPLE_TRUTH["noise"] * rng.standard_normal(compute.size))
    return pd.DataFrame(
        {
            "run": [f"rung{i}" for i in range(compute.size)],
            "params": params.round(),
            "tokens": (20 * params).round(),
            "compute": compute,
            "loss": loss.round(5),
            "seed": seed,
        }
    )


def example_runs_path():
    return resources.files(__name__) / "example_ladder.csv"


def example_runs() -> pd.DataFrame:
    """The shipped synthetic example ladder as a validated runs table."""
    from bayes_scaling.data import load_runs

    with resources.as_file(example_runs_path()) as path:
        return load_runs(path)
