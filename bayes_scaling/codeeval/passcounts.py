"""Turn checked samples into the pass-counts table the pass-rate law is fitted on.

``load_pass_counts`` reads one row per (run, problem): ``run, compute, problem, n,
correct``, and here also ``nll`` (the negative log-likelihood of the canonical solution,
a signal that still moves when every count is 0) and ``suite``. One call per run; concatenate
the runs and write them with ``to_csv(..., index=False)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["pass_counts"]


def pass_counts(results: Iterable[dict], *, run: str, compute: float, nll: Mapping[str, float] | None = None,
                suite: str | None = None) -> pd.DataFrame:
    """One row per problem of ``results`` (samples with ``task_id`` and ``passed``), in first-seen order."""
    counts: dict[str, list[int]] = {}
    for i, result in enumerate(results):
        if "task_id" not in result or "passed" not in result:
            raise ValueError(f"result {i} has no 'task_id' and 'passed' fields; check the samples first")
        n_correct = counts.setdefault(str(result["task_id"]), [0, 0])
        n_correct[0] += 1
        n_correct[1] += bool(result["passed"])
    if not counts:
        raise ValueError(f"run {run!r}: no results to count")
    frame = pd.DataFrame({
        "run": run,
        "compute": float(compute),
        "problem": list(counts),
        "n": [n for n, _ in counts.values()],
        "correct": [c for _, c in counts.values()],
    })
    if nll is not None:
        missing = [problem for problem in counts if problem not in nll]
        if missing:
            raise ValueError(f"run {run!r}: no nll for problem {missing[0]!r} ({len(missing)} problems without one)")
        frame["nll"] = [float(nll[problem]) for problem in counts]
    if suite is not None:
        frame["suite"] = suite
    return frame
