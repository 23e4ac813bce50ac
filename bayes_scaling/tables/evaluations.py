"""Repeated evaluations of one run: an ``evaluation`` column in a runs table, and one row per run.

Why: a run's final loss measured several times (on several held-out shards, or with several
evaluation seeds) is one run, not several. Fitted as independent rows, its evaluations would
count as that many runs: the curve would look better pinned than it is, and the noise the law
learns would be the evaluations' (small) instead of the runs' (seed to seed). With an
``evaluation`` column, rows that share a ``run`` (within a ``family``) are evaluations of that
run; the loss law then separates run-to-run noise from evaluation noise (laws/loss.py), from the
per-run summary ``per_run`` makes: the run's loss (the geometric mean of its evaluations), how
many there were and how far they spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.tables.cells import show, where
from bayes_scaling.tables.errors import DataError

EVALUATION = "evaluation"  # the optional column naming each row's evaluation of its run
EVALUATIONS = "evaluations"  # per run: how many evaluations
SPREAD = "evaluation_sum_of_squares"  # per run: sum over its evaluations of (log loss - mean log loss)^2
SHARED = ("compute", "params", "tokens", "seed")  # what every evaluation of one run must agree on


def run_keys(cleaned: pd.DataFrame) -> list[tuple]:
    """(family, run) of every row; family None without a family column."""
    families = cleaned["family"].tolist() if "family" in cleaned.columns else [None] * len(cleaned)
    return list(zip(families, cleaned["run"].tolist()))


def check_evaluations(table: pd.DataFrame, cleaned: pd.DataFrame) -> None:
    """The evaluations of one run name one run: a ``run`` column, one value of each of ``SHARED``
    per run, and no evaluation named twice for one run. ``table``: the raw rows, for messages."""
    if "run" not in cleaned.columns:
        raise DataError(f"column {EVALUATION!r} names evaluations of runs, so the table needs a 'run' column naming the run each row evaluates")
    first: dict[tuple, int] = {}
    seen: dict[tuple, int] = {}
    for row, (key, evaluation) in enumerate(zip(run_keys(cleaned), cleaned[EVALUATION].tolist())):
        if (key, evaluation) in seen:
            raise DataError(
                f"column {EVALUATION!r}, {where(table, row)}: evaluation {evaluation!r} of run {key[1]!r} "
                f"appears twice (already in row {seen[key, evaluation]})"
            )
        seen[key, evaluation] = row
        if key not in first:
            first[key] = row
            continue
        for column in SHARED:
            if column in cleaned.columns and cleaned[column].iloc[row] != cleaned[column].iloc[first[key]]:
                raise DataError(
                    f"column {column!r}, {where(table, row)}: {show(cleaned[column].iloc[row])} differs from "
                    f"{show(cleaned[column].iloc[first[key]])} in row {first[key]}, an evaluation of the same run {key[1]!r}; "
                    "the evaluations of one run share its compute, params, tokens and seed"
                )


def has_repeated_evaluations(runs: pd.DataFrame) -> bool:
    """Whether some run of the table was evaluated more than once."""
    if EVALUATION not in runs.columns:
        return False
    return len(set(run_keys(runs))) < len(runs)


def per_run(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run, in order of first appearance: its shared columns, ``loss`` the geometric mean
    of its evaluations, ``evaluations`` their number and ``evaluation_sum_of_squares`` their spread."""
    group: dict[tuple, int] = {}  # each run's position, in order of first appearance
    index = np.array([group.setdefault(key, len(group)) for key in run_keys(runs)])
    log_loss = np.log(runs["loss"].to_numpy(dtype=float))
    count = np.bincount(index)
    mean = np.bincount(index, weights=log_loss) / count
    spread = np.bincount(index, weights=(log_loss - mean[index]) ** 2)
    first = np.unique(index, return_index=True)[1]  # each run's first row: its shared columns
    kept = [name for name in runs.columns if name not in ("compute", "loss", EVALUATION)]
    summary = runs.iloc[first][["compute", *kept]].reset_index(drop=True)
    summary.insert(1, "loss", np.exp(mean))
    return summary.assign(**{EVALUATIONS: count, SPREAD: spread})
