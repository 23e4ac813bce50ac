"""Per-problem pass counts of a code benchmark: ``load_pass_counts`` and its checks."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayes_scaling.tables.cells import Stage, int64_column, not_integer, numeric_column, numeric_columns, show, text_column, where
from bayes_scaling.tables.columns import KNOWN_PASS_COLUMNS, MIN_PASS_RUNS, PASS_TEXT_COLUMNS, REQUIRED_PASS_COLUMNS, normalise_columns, require_columns, with_extras
from bayes_scaling.tables.errors import DataError, IncompleteRunsWarning
from bayes_scaling.tables.reading import provenance, read
from bayes_scaling.tables.runs import run_names


def load_pass_counts(source) -> pd.DataFrame:
    """Read and validate a table of code-benchmark pass counts, one row per (run, problem).

    Required columns: ``compute`` (training FLOPs of the run, finite and > 0),
    ``problem`` (the problem id), ``n`` (samples drawn, an integer >= 1) and ``correct``
    (samples that passed, an integer with 0 <= correct <= n); counts such as ``3.0`` are
    accepted, ``2.5`` is not. Optional: ``run``, ``model``, ``suite`` (text, on every
    row) and ``nll`` (finite).

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        What ``load_runs`` takes (a ``.csv``, ``.parquet``/``.pq`` or
        ``.jsonl``/``.ndjson`` path, or a DataFrame, which is copied, never modified);
        column names are matched the same way. In CSV files the ``run``, ``problem``,
        ``model`` and ``suite`` columns are read as text, so an id such as ``007`` keeps
        its zeros.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with index ``0..n-1``, rows in the input order, and columns
        ``run`` (str; without a ``run`` column, named from the compute as ``"C=1e+18"``,
        with more digits where two computes would share a name), ``compute`` (float64),
        ``problem`` (str), ``n``, ``correct`` (int64), then whichever of ``model``,
        ``suite`` (str) and ``nll`` (float64) are present, then any other columns,
        untouched, in their input order. ``attrs`` hold the provenance, as for
        ``load_runs``, and ``attrs["incomplete_runs"]`` maps each run that lacks some of
        the problems seen in the table to the list of its missing problem ids (empty when
        every run has every problem).

    Raises
    ------
    DataError
        For the first of these problems it finds: a missing required column; no rows; a
        value that is not a number; NaN or infinite values; ``compute`` <= 0, ``n`` < 1,
        ``correct`` < 0; a count that is not an integer or does not fit in 64 bits;
        ``correct`` > ``n``; a missing problem id, or invalid optional column; one run
        with two compute values; the same (run, problem) pair twice (the run is the
        ``run`` column, or the compute without one); fewer than two distinct compute
        values. Also when ``source`` cannot be read, as for ``load_runs``.

    Warns
    -----
    IncompleteRunsWarning
        When some runs lack some of the problems seen in the table. Such runs are kept
        (they are fitted on what they have); ``attrs["incomplete_runs"]`` lists what
        they miss.

    See Also
    --------
    load_runs, example_pass_counts

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> counts = bs.load_pass_counts("passcounts.csv")
    >>> list(counts.columns[:5])
    ['run', 'compute', 'problem', 'n', 'correct']
    >>> counts.attrs["incomplete_runs"]
    {}
    """
    raw, label = read(source, "load_pass_counts", text_columns=PASS_TEXT_COLUMNS, row_what="one row's columns")
    return validate_pass_counts(raw, label, stacklevel=3)


def validate_pass_counts(raw: pd.DataFrame, label: str, stacklevel: int) -> pd.DataFrame:
    """load_pass_counts on a private copy of the raw table."""
    table = normalise_columns(raw, KNOWN_PASS_COLUMNS)
    require_columns(table, REQUIRED_PASS_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the pass-counts table from {label} has no rows; it needs one row per (run, problem)")

    numbers = numeric_columns(table, ("compute", "n", "correct"), positive=False, stages=_PASS_COUNT_STAGES)
    counts = {name: int64_column(table, name, numbers[name]) for name in ("n", "correct")}
    _check_correct_at_most_n(table, counts["n"], counts["correct"])

    has_run = "run" in table.columns
    cleaned: dict[str, object] = {
        "run": text_column(table, "run") if has_run else run_names(numbers["compute"]),
        "compute": numbers["compute"],
        "problem": text_column(table, "problem", what="problem id"),
        "n": counts["n"],
        "correct": counts["correct"],
    }
    for name in ("model", "suite"):
        if name in table.columns:
            cleaned[name] = text_column(table, name)
    if "nll" in table.columns:
        cleaned["nll"] = numeric_column(table, "nll", positive=False)
    out = pd.DataFrame(cleaned, index=pd.RangeIndex(len(table)))
    if has_run:
        _check_one_compute_per_run(table, out)
    _check_duplicate_pairs(table, out, has_run)
    _check_pass_runs(out)
    out = with_extras(out, table, KNOWN_PASS_COLUMNS)
    incomplete = _incomplete_runs(out)
    out.attrs = {**provenance(table.attrs, out), "incomplete_runs": incomplete}
    if incomplete:
        warnings.warn(_incomplete_message(incomplete, out), IncompleteRunsWarning, stacklevel=stacklevel)
    return out


def _too_few_samples(value: float) -> str:
    if value == 0:
        return "is too small: n must be >= 1: a problem with no samples says nothing"
    return f"is {'negative' if value < 0 else 'too small'}: n (samples drawn) must be >= 1"


_PASS_COUNT_STAGES: tuple[Stage, ...] = (
    {
        "compute": (lambda v: v <= 0, "must be > 0"),
        "n": (lambda v: v < 1, _too_few_samples),
        "correct": (lambda v: v < 0, "is negative: correct (samples that passed) must be >= 0"),
    },
    {
        "n": (not_integer, "must be an integer (a count of samples)"),
        "correct": (not_integer, "must be an integer (a count of samples)"),
    },
)
def _check_correct_at_most_n(table: pd.DataFrame, n: np.ndarray, correct: np.ndarray) -> None:
    hits = np.flatnonzero(correct > n)
    if hits.size:
        row = int(hits[0])
        raise DataError(
            f"column 'correct', {where(table, row)}: value {show(table['correct'].iloc[row])} is more than "
            f"n = {show(table['n'].iloc[row])} in the same row; correct (samples that passed) must be <= n "
            "(samples drawn)"
        )


def _check_one_compute_per_run(table: pd.DataFrame, cleaned: pd.DataFrame) -> None:
    first: dict[str, int] = {}
    compute = cleaned["compute"].to_numpy()
    for row, run in enumerate(cleaned["run"].tolist()):
        if run not in first:
            first[run] = row
        elif compute[row] != compute[first[run]]:
            earlier = first[run]
            raise DataError(
                f"column 'compute', {where(table, row)}: value {show(table['compute'].iloc[row])} differs from "
                f"{show(table['compute'].iloc[earlier])} in row {earlier} of the same run; a run has one training "
                "compute (give different runs different names)"
            )


def _check_duplicate_pairs(table: pd.DataFrame, cleaned: pd.DataFrame, has_run: bool) -> None:
    first: dict[tuple[str, str], int] = {}
    for row, key in enumerate(zip(cleaned["run"].tolist(), cleaned["problem"].tolist())):
        if key not in first:
            first[key] = row
            continue
        run = f"run {key[0]!r}" if has_run else f"run (compute={show(cleaned['compute'].iloc[row])})"
        raise DataError(
            f"column 'problem', {where(table, row)}: value {show(table['problem'].iloc[row])} repeats row "
            f"{first[key]} for the same {run}; keep one row per (run, problem), with the counts summed"
        )


def _check_pass_runs(cleaned: pd.DataFrame) -> None:
    distinct = np.unique(cleaned["compute"].to_numpy())
    if distinct.size >= MIN_PASS_RUNS:
        return
    shown = ", ".join(repr(float(v)) for v in distinct)
    runs = list(dict.fromkeys(cleaned["run"].tolist()))
    shared = f", shared by its {len(runs)} runs" if len(runs) > distinct.size else ""
    raise DataError(
        f"column 'compute', rows 0-{len(cleaned) - 1}: {distinct.size} distinct value"
        f"{'s' if distinct.size != 1 else ''} ({shown}){shared}: a trend needs at least {MIN_PASS_RUNS} runs; "
        f"found {distinct.size}"
    )


def _incomplete_runs(cleaned: pd.DataFrame) -> dict[str, list[str]]:
    """Run -> the problems of the table it has no row for, in first-seen order; complete runs left out."""
    problems = list(dict.fromkeys(cleaned["problem"].tolist()))
    have: dict[str, set[str]] = {}
    for run, problem in zip(cleaned["run"].tolist(), cleaned["problem"].tolist()):
        have.setdefault(run, set()).add(problem)
    return {
        run: [p for p in problems if p not in seen] for run, seen in have.items() if len(seen) < len(problems)
    }


def _incomplete_message(incomplete: Mapping[str, list[str]], cleaned: pd.DataFrame, shown: int = 5) -> str:
    total = cleaned["problem"].nunique()
    parts = [f"run {run!r}: {len(missing)} of {total} problems missing" for run, missing in incomplete.items()]
    if len(parts) > shown:
        parts = parts[:shown] + [f"and {len(parts) - shown} more"]
    who = "1 run misses" if len(incomplete) == 1 else f"{len(incomplete)} runs miss"
    return f"{who} some problems ({', '.join(parts)}); they are fitted on what they have"
