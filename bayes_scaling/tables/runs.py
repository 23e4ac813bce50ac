"""Training-run tables: ``load_runs`` (compute, loss) and ``load_capability_runs`` (compute, task_loss, accuracy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bayes_scaling.tables.cells import numeric_column, numeric_columns, seed_column, text_column, where
from bayes_scaling.tables.columns import KNOWN_COLUMNS, MIN_DISTINCT_COMPUTE, OPTIONAL_RUN_COLUMNS, REQUIRED_CAPABILITY_COLUMNS, REQUIRED_RUN_COLUMNS, normalise_columns, require_columns, with_extras
from bayes_scaling.tables.errors import DataError
from bayes_scaling.tables.evaluations import EVALUATION, check_evaluations, run_keys
from bayes_scaling.tables.reading import provenance, read, read_table


def load_runs(source) -> pd.DataFrame:
    """Read and validate a table of training runs.

    One row per training run: ``compute`` (FLOPs) and ``loss`` are required; ``run``,
    ``params``, ``tokens``, ``seed``, ``family`` and ``evaluation`` are optional; any other
    columns are carried along untouched. With an ``evaluation`` column, rows that share a
    ``run`` name (within a ``family``) are evaluations of one run, and the loss law separates
    evaluation noise from run-to-run noise (docs/loss-law.md).

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A path to a ``.csv``, ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson`` file, or a
        pandas DataFrame (which is copied, never modified). CSV files may be separated by
        commas, semicolons or tabs (sniffed from the header; ``.tsv`` too). Column names
        are matched after stripping a byte-order mark and surrounding whitespace from
        every header, and case-sensitively.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with index ``0..n-1``, rows in the input order, and columns
        ``compute``, ``loss`` (float64), then whichever of ``run`` (str), ``params``,
        ``tokens`` (float64), ``seed`` (int64), ``family``, ``evaluation`` (str) are present,
        in that order, then any other columns, untouched, in their input order. ``attrs`` say
        where the table came from (``provenance``): ``source`` (the path, or
        ``"DataFrame"``), ``file_sha256`` (of the file's bytes) and ``sha256`` (of the
        validated table, ``data_hash``). A frame that ``load_runs`` returned keeps its
        file's provenance when it is loaded again, as
        ``bs.forecast(bs.load_runs("runs.csv"))`` does, unless its content has changed
        since.

    Raises
    ------
    DataError
        For the first of these problems it finds: a missing required column; no rows; a
        value that is not a number (strings that parse as numbers are accepted, booleans
        are not); NaN or infinite values; ``compute`` or ``loss`` <= 0; invalid optional
        columns (``params``/``tokens`` must be finite and > 0, ``seed`` an integer,
        ``run``/``family`` present on every row); duplicate run names (within a family, where
        there is a ``family`` column) without an ``evaluation`` column naming them apart, an
        evaluation named twice for one run, evaluations of one run that disagree on its
        ``compute``, ``params``, ``tokens`` or ``seed``, or (without a
        ``run`` column) two identical rows; fewer than three distinct ``compute`` values.
        Also when ``source`` is neither a path nor a DataFrame, has another extension, or
        cannot be read. The message names the column, the row and the value.

    See Also
    --------
    load_pass_counts, load_capability_runs, example_runs

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> runs = bs.load_runs("runs.csv")
    >>> list(runs.columns[:2])
    ['compute', 'loss']
    >>> runs.attrs["source"]
    'runs.csv'
    """
    return validate_runs(*read(source, "load_runs"))


def validate_runs(raw: pd.DataFrame, label: str) -> pd.DataFrame:
    """load_runs on a private copy of the raw table."""
    table = normalise_columns(raw, KNOWN_COLUMNS)
    require_columns(table, REQUIRED_RUN_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the runs table from {label} has no rows; it needs one row per training run")
    return _run_table(table, numeric_columns(table, REQUIRED_RUN_COLUMNS, positive=True), KNOWN_COLUMNS, label)


def _run_table(table: pd.DataFrame, required: Mapping[str, object], known_columns: Sequence[str], label: str) -> pd.DataFrame:
    """One row per run: the ``required`` columns (checked by the caller), the optional run
    columns (``run``, ``params``, ``tokens``, ``seed``, ``family``) checked here, then the
    table's other columns untouched; refuses duplicate runs and too few distinct computes."""
    cleaned: dict[str, object] = dict(required)
    for name in OPTIONAL_RUN_COLUMNS:
        if name not in table.columns:
            continue
        if name in ("run", "family"):
            cleaned[name] = text_column(table, name)
        elif name == "seed":
            cleaned[name] = seed_column(table)
        else:
            cleaned[name] = numeric_column(table, name, positive=True)
    if EVALUATION in known_columns and EVALUATION in table.columns:  # load_runs' repeated evaluations
        cleaned[EVALUATION] = text_column(table, EVALUATION, "evaluation name")
    out = pd.DataFrame(cleaned, index=pd.RangeIndex(len(table)))
    _check_duplicates(table, out)
    _check_distinct_compute(out)
    out = with_extras(out, table, known_columns)
    out.attrs = provenance(table.attrs, out)
    return out


def load_capability_runs(source) -> pd.DataFrame:
    """Read and validate a table of benchmark results for the two-step capability law.

    One row per training run: ``compute`` (FLOPs, > 0), ``task_loss`` (the run's loss on
    the task, e.g. the mean negative log-likelihood of the correct answers, > 0) and
    ``accuracy`` (the fraction of the task's items answered correctly, 0..1) are required;
    the optional columns of ``load_runs`` (``run``, ``params``, ``tokens``, ``seed``,
    ``family``) are checked the same way, any others carried along.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        What ``load_runs`` takes: a ``.csv``, ``.parquet``/``.pq`` or
        ``.jsonl``/``.ndjson`` path, or a DataFrame (copied, never modified).

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with index ``0..n-1``, rows in the input order: ``compute``,
        ``task_loss``, ``accuracy`` (float64), then whichever optional run columns are
        present, then any others, untouched; ``attrs`` hold the provenance, as for
        ``load_runs``.

    Raises
    ------
    DataError
        Naming the column, row and value, as ``load_runs`` does: a missing required
        column, no rows, a value that is not a finite number, ``compute`` or
        ``task_loss`` <= 0, an ``accuracy`` outside [0, 1] (a fraction of items, not a
        percentage), an invalid optional column, duplicate runs, or fewer than three
        distinct ``compute`` values.

    See Also
    --------
    load_runs

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> runs = bs.load_capability_runs("arc.csv")
    >>> fc = bs.forecast(runs, target=1e22, law="two_step", floor=0.25, seed=0)
    """
    known = REQUIRED_CAPABILITY_COLUMNS + OPTIONAL_RUN_COLUMNS
    table, label = read_table(source, "load_capability_runs", known)
    require_columns(table, REQUIRED_CAPABILITY_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the capability table from {label} has no rows; it needs one row per training run")
    cleaned: dict[str, object] = dict(numeric_columns(table, ("compute", "task_loss"), positive=True))
    cleaned["accuracy"] = numeric_column(
        table, "accuracy", positive=False, stages=({"accuracy": (lambda v: (v < 0) | (v > 1), "must lie in [0, 1] (a fraction of items, not a percentage)")},)
    )
    return _run_table(table, cleaned, known, label)


def _check_duplicates(table: pd.DataFrame, cleaned: pd.DataFrame) -> None:
    """Duplicate run names (within a family, where there is one: recipes may name their rungs
    alike); without a run column, rows identical in every known column."""
    if EVALUATION in cleaned.columns:  # one run's evaluations share its name
        check_evaluations(table, cleaned)
        return
    if "run" in cleaned.columns:
        first: dict[tuple, int] = {}
        for row, key in enumerate(run_keys(cleaned)):
            if key in first:
                within = "" if key[0] is None else f" in family {key[0]!r}"
                raise DataError(
                    f"column 'run', {where(table, row)}: duplicate run name {key[1]!r}{within} "
                    f"(already used by row {first[key]}); if these rows are evaluations of one run, "
                    f"name each in an {EVALUATION!r} column"
                )
            first[key] = row
        return
    columns = list(cleaned.columns)
    first_row: dict[tuple, int] = {}
    for row, key in enumerate(zip(*(cleaned[c].tolist() for c in columns))):
        if key in first_row:
            values = ", ".join(f"{c}={v!r}" for c, v in zip(columns, key))
            raise DataError(
                f"row {row} is identical to row {first_row[key]} in columns {columns} ({values}); "
                "remove the duplicate, or add a 'run' or 'seed' column that tells the runs apart"
            )
        first_row[key] = row


def _check_distinct_compute(cleaned: pd.DataFrame) -> None:
    distinct = np.unique(cleaned["compute"].to_numpy())
    if distinct.size < MIN_DISTINCT_COMPUTE:
        shown = ", ".join(repr(float(v)) for v in distinct)
        raise DataError(
            f"column 'compute' has {distinct.size} distinct value{'s' if distinct.size != 1 else ''} ({shown}); "
            f"a 3-parameter law needs at least {MIN_DISTINCT_COMPUTE} distinct compute values"
        )


def run_names(compute: np.ndarray) -> pd.Series:
    """Run names made from the compute, 'C=1e+18', with more digits where 4 would merge two runs."""
    distinct = [float(c) for c in np.unique(compute)]
    for digits in range(4, 18):  # %.17g tells every pair of float64 values apart
        names = {c: f"C={c:.{digits}g}" for c in distinct}
        if len(set(names.values())) == len(distinct):
            break
    return pd.Series([names[float(c)] for c in compute], dtype=str, index=pd.RangeIndex(len(compute)))
