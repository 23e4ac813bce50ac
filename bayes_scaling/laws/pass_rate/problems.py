"""The fitted problems in the model's order (sorted ids) and the integer codes the model indexes by.

Every other module of the law lines its arrays up through these, so they live on their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def kept_buckets(per_problem) -> pd.Series:
    """Bucket (1-based) of each fitted problem, in the model's problem order (sorted ids)."""
    bucket = pd.Series(np.asarray(per_problem["bucket"]), index=np.asarray(per_problem["problem_name"]).astype(str))
    return bucket[bucket > 0].sort_index()


def codes(table: pd.DataFrame, per_problem: dict):
    """Integer codes: (problem of each row, run of each row, compute of each run, bucket (0-based) of
    each kept problem, the kept problems' names in model order)."""
    kept = kept_buckets(per_problem)
    problem_code = pd.Index(kept.index).get_indexer(table["problem"])
    runs = pd.Index(table["run"].unique())
    run_code = runs.get_indexer(table["run"])
    run_compute = table.groupby("run", sort=False)["compute"].first().reindex(runs).to_numpy(dtype=float)
    return problem_code, run_code, run_compute, kept.to_numpy() - 1, list(kept.index)


def pivot_log_compute(per_problem, options) -> np.ndarray:
    """Each fitted problem's pivot as log(C / C_ref), in the model's problem order."""
    pivot = pd.Series(np.asarray(per_problem["pivot_compute"], dtype=float), index=np.asarray(per_problem["problem_name"]).astype(str))
    return np.log(pivot.loc[kept_buckets(per_problem).index].to_numpy() / options["compute_ref"])
