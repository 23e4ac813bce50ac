"""Load and validate the tidy tables a forecast is fitted on: training runs, and pass counts.

Every forecast starts from this table, so it is checked here, once, before any model
is built. A bad value that slips through surfaces much later as a PyMC traceback that
says nothing about the user's file; here every error is a ``DataError`` that names the
column, the row and the offending value, so the user can fix the file instead.

The table has one row per training run: ``compute`` (FLOPs) and ``loss`` are required;
``run``, ``params``, ``tokens``, ``seed`` and ``family`` are optional; any other
columns are carried along untouched. Rows are named by their 0-based position in the
user's input (the header of a CSV file is not a row), plus the run name when the table
has a ``run`` column: ``column 'loss', row 3 (run 'r4'): value -1.2 must be > 0``.

The pass-counts table of a code benchmark (``load_pass_counts``) has one row per
(run, problem): ``compute``, ``problem``, ``n`` (samples drawn) and ``correct`` (samples
that passed) are required; ``run``, ``model``, ``suite`` and ``nll`` are optional. It is
read from the same sources and checked with the same helpers and messages.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import json
import math
import numbers
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "OPTIONAL_PASS_COLUMNS",
    "OPTIONAL_RUN_COLUMNS",
    "REQUIRED_PASS_COLUMNS",
    "REQUIRED_RUN_COLUMNS",
    "DataError",
    "ExtrapolationWarning",
    "IncompleteRunsWarning",
    "check_targets",
    "data_hash",
    "load_capability_runs",
    "load_pass_counts",
    "load_runs",
]

REQUIRED_RUN_COLUMNS = ("compute", "loss")
OPTIONAL_RUN_COLUMNS = ("run", "params", "tokens", "seed", "family")
REQUIRED_PASS_COLUMNS = ("compute", "problem", "n", "correct")
REQUIRED_CAPABILITY_COLUMNS = ("compute", "task_loss", "accuracy")
OPTIONAL_PASS_COLUMNS = ("run", "model", "suite", "nll")

# The smallest law (L = E + A * C**-alpha) has three parameters.
MIN_DISTINCT_COMPUTE = 3
# A pass-rate trend needs runs at two or more compute values.
MIN_PASS_RUNS = 2
# Past this factor beyond the largest run, a power law fitted on a ladder says little.
MAX_EXTRAPOLATION = 1e6

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
# Delimiters a CSV file may use, sniffed from its header; a header with none of them is one column.
_DELIMITERS = ",;\t"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# A number written with a decimal comma (3,5) or a thousands separator (1,000).
_COMMA_NUMBER = re.compile(r"^[+-]?\d+(,\d+)+([eE][+-]?\d+)?$")
_KNOWN_COLUMNS = REQUIRED_RUN_COLUMNS + OPTIONAL_RUN_COLUMNS
_KNOWN_PASS_COLUMNS = REQUIRED_PASS_COLUMNS + OPTIONAL_PASS_COLUMNS
# Read as text from CSV, so that ids such as '007' keep their leading zeros.
_PASS_TEXT_COLUMNS = ("run", "problem", "model", "suite")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Floats must read back exactly as written: pandas 3 does that by default (and deprecates
# the option); pandas 2's default "high" precision parser can be off in the last bit.
_CSV_OPTIONS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


class DataError(ValueError):
    """The runs table or the targets are unusable; the message says where and why.

    Raised before any model is built: by ``load_runs``, ``load_pass_counts`` and
    ``load_capability_runs`` (and so by ``bs.forecast`` and ``bs.backtest``, which load
    their data with them) for an unreadable file or a bad value, naming the column, the
    row and the offending value; by ``bs.forecast`` for unusable targets; and by
    ``bs.backtest`` for a split that leaves nothing to forecast or too few runs to fit.
    A subclass of ``ValueError``.

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> try:
    ...     bs.load_runs("runs.csv")
    ... except bs.DataError as error:
    ...     print(error)  # e.g. column 'loss', row 3 (run 'r4'): value -1.2 must be > 0
    """


class ExtrapolationWarning(UserWarning):
    """A target compute is one the fitted law cannot forecast well (inside, below, or far past the data).

    Issued by ``bs.forecast`` (through ``check_targets``), once per such target, before
    any sampling: a target inside the fitted compute range (interpolation, not a forecast
    of a larger run), below the smallest compute in the data (backcasting: the law was not
    fitted on runs that small), or more than 10^6 × past the largest compute
    (extrapolations that far are not trustworthy). The Chinchilla law warns the same way
    about its targets' compute.
    """


class IncompleteRunsWarning(UserWarning):
    """Some runs of a pass-counts table lack rows for problems that other runs have.

    Issued by ``load_pass_counts`` (and so by ``bs.forecast(..., law="pass_rate")``),
    naming each such run and how many problems it misses. The runs are kept and fitted on
    what they have; ``attrs["incomplete_runs"]`` of the loaded table lists the missing
    problem ids per run.
    """


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell a part of the law: it keeps its prior (said before sampling, with the way out).

    Issued by ``bs.forecast`` before sampling. ``law="chinchilla"``: the runs' tokens per
    parameter follow one path, so the parameter term of ``L(N, D)`` cannot be told from
    the token term and forecasts off that path (``bs.compute_optimal`` included) rest on
    the default priors' compute-optimal assumption. ``law="pass_rate"``: too few runs to
    measure how far one new run lands off the trend, or a bucket none of whose problems
    any fitted run solved. Each message says what data would settle it.
    """


# --------------------------------------------------------------------------- loading


def load_runs(source) -> pd.DataFrame:
    """Read and validate a table of training runs.

    One row per training run: ``compute`` (FLOPs) and ``loss`` are required; ``run``,
    ``params``, ``tokens``, ``seed`` and ``family`` are optional; any other columns are
    carried along untouched.

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
        ``tokens`` (float64), ``seed`` (int64), ``family`` (str) are present, in that
        order, then any other columns, untouched, in their input order. ``attrs`` say
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
        ``run``/``family`` present on every row); duplicate run names, or (without a
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
    return _validate_runs(*_read(source, "load_runs"))


def _validate_runs(raw: pd.DataFrame, label: str) -> pd.DataFrame:
    """load_runs on a private copy of the raw table."""
    table = _normalise_columns(raw, _KNOWN_COLUMNS)
    _require_columns(table, REQUIRED_RUN_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the runs table from {label} has no rows; it needs one row per training run")
    return _run_table(table, _numeric_columns(table, REQUIRED_RUN_COLUMNS, positive=True), _KNOWN_COLUMNS, label)


def _run_table(table: pd.DataFrame, required: Mapping[str, object], known_columns: Sequence[str], label: str) -> pd.DataFrame:
    """One row per run: the ``required`` columns (checked by the caller), the optional run
    columns (``run``, ``params``, ``tokens``, ``seed``, ``family``) checked here, then the
    table's other columns untouched; refuses duplicate runs and too few distinct computes."""
    cleaned: dict[str, object] = dict(required)
    for name in OPTIONAL_RUN_COLUMNS:
        if name not in table.columns:
            continue
        if name in ("run", "family"):
            cleaned[name] = _text_column(table, name)
        elif name == "seed":
            cleaned[name] = _seed_column(table)
        else:
            cleaned[name] = _numeric_column(table, name, positive=True)
    out = pd.DataFrame(cleaned, index=pd.RangeIndex(len(table)))
    _check_duplicates(table, out)
    _check_distinct_compute(out)
    out = _with_extras(out, table, known_columns)
    out.attrs = provenance(table.attrs, out)
    return out


def _with_extras(out: pd.DataFrame, table: pd.DataFrame, known_columns: Sequence[str]) -> pd.DataFrame:
    """``out`` followed by the table's columns that are not ``known_columns``, untouched, in input order."""
    extras = [i for i, name in enumerate(table.columns) if name not in known_columns]
    return pd.concat([out, table.iloc[:, extras]], axis=1) if extras else out


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
    raw, label = _read(source, "load_pass_counts", text_columns=_PASS_TEXT_COLUMNS, row_what="one row's columns")
    return _validate_pass_counts(raw, label, stacklevel=3)


def _validate_pass_counts(raw: pd.DataFrame, label: str, stacklevel: int) -> pd.DataFrame:
    """load_pass_counts on a private copy of the raw table."""
    table = _normalise_columns(raw, _KNOWN_PASS_COLUMNS)
    _require_columns(table, REQUIRED_PASS_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the pass-counts table from {label} has no rows; it needs one row per (run, problem)")

    numbers = _numeric_columns(table, ("compute", "n", "correct"), positive=False, stages=_PASS_COUNT_STAGES)
    counts = {name: _int64_column(table, name, numbers[name]) for name in ("n", "correct")}
    _check_correct_at_most_n(table, counts["n"], counts["correct"])

    has_run = "run" in table.columns
    cleaned: dict[str, object] = {
        "run": _text_column(table, "run") if has_run else _run_names(numbers["compute"]),
        "compute": numbers["compute"],
        "problem": _text_column(table, "problem", what="problem id"),
        "n": counts["n"],
        "correct": counts["correct"],
    }
    for name in ("model", "suite"):
        if name in table.columns:
            cleaned[name] = _text_column(table, name)
    if "nll" in table.columns:
        cleaned["nll"] = _numeric_column(table, "nll", positive=False)
    out = pd.DataFrame(cleaned, index=pd.RangeIndex(len(table)))
    if has_run:
        _check_one_compute_per_run(table, out)
    _check_duplicate_pairs(table, out, has_run)
    _check_pass_runs(out)
    out = _with_extras(out, table, _KNOWN_PASS_COLUMNS)
    incomplete = _incomplete_runs(out)
    out.attrs = {**provenance(table.attrs, out), "incomplete_runs": incomplete}
    if incomplete:
        warnings.warn(_incomplete_message(incomplete, out), IncompleteRunsWarning, stacklevel=stacklevel)
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
    _require_columns(table, REQUIRED_CAPABILITY_COLUMNS)
    if len(table) == 0:
        raise DataError(f"the capability table from {label} has no rows; it needs one row per training run")
    cleaned: dict[str, object] = dict(_numeric_columns(table, ("compute", "task_loss"), positive=True))
    cleaned["accuracy"] = _numeric_column(
        table, "accuracy", positive=False, stages=({"accuracy": (lambda v: (v < 0) | (v > 1), "must lie in [0, 1] (a fraction of items, not a percentage)")},)
    )
    return _run_table(table, cleaned, known, label)


def read_table(source, caller: str, known_columns: Sequence[str] = _KNOWN_COLUMNS) -> tuple[pd.DataFrame, str]:
    """The table of ``source`` before its values are checked, and a label for messages.

    Read as ``load_runs`` reads it (a private copy; ``caller`` names the public function in
    messages), with every column name stripped and a named index made a column again: for a
    law's loader that must look at columns before validating, e.g. the Chinchilla law
    deriving ``compute`` from ``params`` and ``tokens``. Its ``attrs`` carry the file's
    provenance to the loader that validates it.
    """
    raw, label = _read(source, caller)
    return _normalise_columns(raw, known_columns), label


def _read(
    source, caller: str, text_columns: Sequence[str] = (), row_what: str = "one run's columns"
) -> tuple[pd.DataFrame, str]:
    """The raw table (a private copy) and a label for messages: the path or 'DataFrame'.

    ``caller`` names the public function in messages; CSV columns whose stripped name is
    in ``text_columns`` are read as text; ``row_what`` says what a JSON Lines object holds.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(deep=True), "DataFrame"  # keeps its attrs: the provenance of a loaded table
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"{caller}() takes a path (str or os.PathLike) or a pandas DataFrame, got {type(source).__name__}"
        )
    label = os.fsdecode(os.fspath(source))
    path = Path(label)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as err:  # a path component over the file system's limit, a NUL byte
        raise DataError(f"cannot read {label!r}: {getattr(err, 'strerror', None) or err}") from None
    if not exists:
        raise DataError(f"file not found: {label!r}")
    if is_dir:
        raise DataError(f"{label!r} is a directory; give the path of a table file inside it")
    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS:
        what = f"unknown extension {suffix!r}" if suffix else "no file extension"
        raise DataError(f"cannot read {label!r}: {what}; accepted extensions are {', '.join(sorted(_EXTENSIONS))}")
    kind = _EXTENSIONS[suffix]
    try:
        if kind == "csv":
            raw = _read_csv(path, label, text_columns)
        elif kind == "parquet":
            raw = pd.read_parquet(path)
        else:
            raw = _read_jsonl(path, row_what)
        raw.attrs = {"source": label, "file_sha256": _file_sha256(path)}
        return raw, label
    except DataError:
        raise
    except Exception as err:  # every reader failure becomes a DataError with its message
        raise DataError(f"could not read {kind} file {label!r}: {type(err).__name__}: {err}") from err


def _read_csv(path: Path, label: str, text_columns: Sequence[str]) -> pd.DataFrame:
    """A CSV file as text cells parsed by pandas: delimiter sniffed, BOM dropped, and no cell
    turned into NaN behind the user's back (``n/a`` stays ``'n/a'``, so a message can show it)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        first_line = handle.readline()
    delimiter = _sniff_delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    _check_csv_header(header, label)
    options: dict[str, object] = {**_CSV_OPTIONS, "sep": delimiter, "encoding": "utf-8-sig", "keep_default_na": False}
    text = {name: str for name in header if _clean_name(name) in text_columns}
    if text:
        options["dtype"] = text
    return pd.read_csv(path, **options)


def _sniff_delimiter(header: str) -> str:
    """Comma, semicolon or tab, whichever the header line is split by (a comma when it is one column)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def provenance(given: Mapping, table: pd.DataFrame) -> dict:
    """Where a validated ``table`` came from: ``source``, ``file_sha256`` and the table's ``sha256``.

    ``given`` are the attrs of the raw table: a file's path and hash from ``_read``, or the
    attrs of a frame an earlier load returned. Such a frame keeps its file's provenance, and
    a ``note`` saying what the data are (``attrs["note"]``, e.g. "synthetic"), only while its
    content is what was loaded (same ``sha256``); a changed one says so.
    """
    content = validated_table_hash(table)
    source, file_hash = given.get("source"), given.get("file_sha256")
    if given.get("sha256", content) != content:
        changed = f" (from {source!r}, changed since it was loaded)" if file_hash else ""
        return {"source": "DataFrame" + changed, "file_sha256": None, "sha256": content}
    if source is None or file_hash is None:
        kept = {"source": "DataFrame", "file_sha256": None, "sha256": content}
    else:
        kept = {"source": source, "file_sha256": file_hash, "sha256": content}
    return kept | ({"note": str(given["note"])} if given.get("note") else {})


def _check_csv_header(header: Sequence[str], label: str) -> None:
    """pandas renames a repeated column (``loss``, ``loss.1``); a repeated name in the header is an error here,
    as a repeated known column of a DataFrame is."""
    seen: dict[str, int] = {}
    for name in (_clean_name(cell) for cell in header):
        seen[name] = seen.get(name, 0) + 1
    repeated = [name for name, count in seen.items() if count > 1 and name]
    if repeated:
        raise DataError(f"could not read csv file {label!r}: column {repeated[0]!r} appears {seen[repeated[0]]} times "
                        "in the header; keep only one")


def _read_jsonl(path: Path, row_what: str) -> pd.DataFrame:
    """One JSON object per line. Python's json keeps floats exact, unlike pandas.read_json."""
    records, numbers = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"could not read JSON Lines file {str(path)!r}: line {number}: {err.msg}") from err
            if not isinstance(record, dict):
                raise DataError(
                    f"could not read JSON Lines file {str(path)!r}: line {number} is a JSON "
                    f"{type(record).__name__}, not an object with {row_what}"
                )
            records.append(record)
            numbers.append(number)
    try:
        return pd.DataFrame(records)
    except UnicodeEncodeError:  # a \ud800-style escape decodes to a lone surrogate, which no string column takes
        for number, record in zip(numbers, records):
            for field, value in record.items():
                if isinstance(value, str) and any("\ud800" <= char <= "\udfff" for char in value):
                    raise DataError(f"could not read JSON Lines file {str(path)!r}: line {number}, field {field!r}: "
                                    f"value {value!r} is not valid text (a lone surrogate)") from None
        raise


def _clean_name(name):
    """A header as the user means it: without a byte-order mark or surrounding whitespace."""
    return name.strip().lstrip("\ufeff").strip() if isinstance(name, str) else name


def _normalise_columns(table: pd.DataFrame, known_columns: Sequence[str]) -> pd.DataFrame:
    """Strip a BOM and whitespace from every column name and give the table a 0..n-1 index.

    A named index (say the user did ``set_index("run")``) becomes a column again rather
    than being dropped; an unnamed one is dropped. The table's attrs (its provenance) stay.
    """
    attrs = dict(table.attrs)
    if any(name is not None for name in table.index.names) and not any(
        name in table.columns for name in table.index.names
    ):
        table = table.reset_index()
    table = table.reset_index(drop=True)

    stripped = [_clean_name(name) for name in table.columns]
    for name in dict.fromkeys(stripped):
        spellings = [orig for orig, new in zip(table.columns, stripped) if new == name]
        if len(spellings) > 1:
            raise DataError(f"column {name!r} appears {len(spellings)} times (as {spellings}); keep only one")
    table.columns = stripped
    table.attrs = attrs
    return table


def _require_columns(table: pd.DataFrame, required: Sequence[str]) -> None:
    for name in required:
        if name in table.columns:
            continue
        found = list(table.columns)
        hint = ""
        near = [c for c in found if isinstance(c, str) and c.strip().lower() == name]
        if near:
            hint = f" (column names are case-sensitive: rename {near[0]!r} to {name!r})"
        raise DataError(f"missing required column {name!r}; found columns: {found}{hint}")


# ------------------------------------------------------------------- column checks


def _where(table: pd.DataFrame, i: int) -> str:
    """'row 3', or 'row 3 (run 'r4')' when the table has a run column."""
    if "run" in table.columns and not _is_missing(name := table["run"].iloc[i]):
        return f"row {i} (run {_show(name)})"
    return f"row {i}"


def _show(value) -> str:
    """repr of a value as the user would write it (np.float64(1.0) shows as 1.0)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return not value.strip()  # an empty CSV cell
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _as_float(value) -> float | None:
    """The value as a float, or None when it is not a number (NaN and inf are numbers)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        if isinstance(value, (numbers.Real, decimal.Decimal)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError, decimal.InvalidOperation):
        return None
    return None


def _why_not_numeric(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "is a boolean, not a number"
    if value is None or value is pd.NA or value is pd.NaT:
        return "is missing, not a number"
    if isinstance(value, numbers.Real):
        return "is too large for a 64-bit float"
    if isinstance(value, str) and not value.strip():
        return "is empty; every row needs a number here"
    if isinstance(value, str) and _COMMA_NUMBER.match(value.strip()):
        return "has a comma in a number: write decimals with a point (3.5, not 3,5) and no thousands separators"
    return "is not a number"


def _parse(table: pd.DataFrame, name: str) -> tuple[list, np.ndarray, np.ndarray]:
    """(original values, float64 values with NaN where unparsable, mask of unparsable)."""
    column = table[name]
    originals = column.tolist()
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu":  # plain numpy numbers always parse
        return originals, column.to_numpy(dtype=np.float64), np.zeros(len(column), dtype=bool)
    parsed = [_as_float(v) for v in originals]
    bad = np.array([p is None for p in parsed], dtype=bool)
    values = np.array([np.nan if p is None else p for p in parsed], dtype=np.float64)
    return originals, values, bad


def _first_bad(masks: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """The earliest (row, column) flagged in any mask; ties go to the earlier column."""
    best = None
    for name, mask in masks.items():
        hits = np.flatnonzero(mask)
        if hits.size and (best is None or hits[0] < best[0]):
            best = (int(hits[0]), name)
    return best


# One extra check stage of _numeric_columns: column -> (mask of bad float values, problem),
# the problem being text, or a function of the bad float value that returns the text.
Stage = Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], str | Callable[[float], str]]]


def _numeric_columns(
    table: pd.DataFrame, names, positive: bool = True, stages: Sequence[Stage] = ()
) -> dict[str, np.ndarray]:
    """Float64 values of several columns, checked stage by stage across all of them.

    Stages: parses as a number, finite, then > 0 (when ``positive``), then each of
    ``stages`` in turn. Within a stage the earliest row wins, so the error is the one a
    user reading top-down meets first.
    """
    parsed = {name: _parse(table, name) for name in names}

    def fail(stage_masks, describe):
        hit = _first_bad(stage_masks)
        if hit is not None:
            row, name = hit
            value = parsed[name][0][row]
            problem = describe(value, name, row)
            raise DataError(f"column {name!r}, {_where(table, row)}: value {_show(value)} {problem}")

    fail({n: p[2] for n, p in parsed.items()}, lambda v, n, r: _why_not_numeric(v))
    fail(
        {n: ~np.isfinite(p[1]) for n, p in parsed.items()},
        lambda v, n, r: (
            "is NaN (missing or not a number)" if np.isnan(parsed[n][1][r]) else "is infinite"
        ),
    )
    if positive:
        fail({n: p[1] <= 0 for n, p in parsed.items()}, lambda v, n, r: "must be > 0")
    for stage in stages:
        fail(
            {n: test(parsed[n][1]) for n, (test, _) in stage.items()},
            lambda v, n, r: problem if isinstance(problem := stage[n][1], str) else problem(float(parsed[n][1][r])),
        )
    return {name: p[1] for name, p in parsed.items()}


def _numeric_column(table: pd.DataFrame, name: str, positive: bool = True, stages: Sequence[Stage] = ()) -> np.ndarray:
    """Float64 values of one column: numbers, finite, > 0 when ``positive``, then ``stages``."""
    return _numeric_columns(table, (name,), positive=positive, stages=stages)[name]


def _not_integer(values: np.ndarray) -> np.ndarray:
    return values != np.floor(values)


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
        "n": (_not_integer, "must be an integer (a count of samples)"),
        "correct": (_not_integer, "must be an integer (a count of samples)"),
    },
)


def _seed_column(table: pd.DataFrame) -> np.ndarray:
    """Seeds as int64: finite, integer-valued and inside the 64-bit range."""
    values = _numeric_column(table, "seed", positive=False, stages=({"seed": (_not_integer, "must be an integer")},))
    return _int64_column(table, "seed", values)


def _int64_column(table: pd.DataFrame, name: str, values: np.ndarray) -> np.ndarray:
    """Integer-valued, finite float ``values`` of column ``name`` as exact int64, range-checked."""
    column = table[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "i":
        return column.to_numpy(dtype=np.int64)
    ints = []
    for row, (original, value) in enumerate(zip(column.tolist(), values)):
        number = _exact_int(original, value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise DataError(
                f"column {name!r}, {_where(table, row)}: value {_show(original)} is outside the 64-bit integer range"
            )
        ints.append(number)
    return np.array(ints, dtype=np.int64)


def _exact_int(original, value: float) -> int:
    """The value as a Python int, exact even past 2**53 when the input was an integer."""
    if isinstance(original, numbers.Integral) and not isinstance(original, (bool, np.bool_)):
        return int(original)
    if isinstance(original, str):
        try:
            return int(original.strip())
        except ValueError:
            pass
    return int(value)


def _text_column(table: pd.DataFrame, name: str, what: str | None = None) -> pd.Series:
    """A name column (run, family, problem) as str; every row must have one (a ``what``)."""
    what = what or f"{name} name"
    texts = []
    for row, value in enumerate(table[name].tolist()):
        if _is_missing(value):
            raise DataError(
                f"column {name!r}, {_where(table, row)}: value {_show(value)} is missing; every row needs a {what}"
            )
        if isinstance(value, np.generic):
            value = value.item()
        text = value if isinstance(value, str) else str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise DataError(
                f"column {name!r}, {_where(table, row)}: value {_show(value)} is not valid text "
                f"(a lone surrogate {text[err.start]!r} at position {err.start}; names must be UTF-8)"
            ) from None
        texts.append(text)
    return pd.Series(texts, dtype=str, index=pd.RangeIndex(len(texts)))


def _check_duplicates(table: pd.DataFrame, cleaned: pd.DataFrame) -> None:
    """Duplicate run names; without a run column, rows identical in every known column."""
    if "run" in cleaned.columns:
        first: dict[str, int] = {}
        for row, name in enumerate(cleaned["run"].tolist()):
            if name in first:
                raise DataError(
                    f"column 'run', {_where(table, row)}: duplicate run name {name!r} "
                    f"(already used by row {first[name]})"
                )
            first[name] = row
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


def _check_correct_at_most_n(table: pd.DataFrame, n: np.ndarray, correct: np.ndarray) -> None:
    hits = np.flatnonzero(correct > n)
    if hits.size:
        row = int(hits[0])
        raise DataError(
            f"column 'correct', {_where(table, row)}: value {_show(table['correct'].iloc[row])} is more than "
            f"n = {_show(table['n'].iloc[row])} in the same row; correct (samples that passed) must be <= n "
            "(samples drawn)"
        )


def _run_names(compute: np.ndarray) -> pd.Series:
    """Run names made from the compute, 'C=1e+18', with more digits where 4 would merge two runs."""
    distinct = [float(c) for c in np.unique(compute)]
    for digits in range(4, 18):  # %.17g tells every pair of float64 values apart
        names = {c: f"C={c:.{digits}g}" for c in distinct}
        if len(set(names.values())) == len(distinct):
            break
    return pd.Series([names[float(c)] for c in compute], dtype=str, index=pd.RangeIndex(len(compute)))


def _check_one_compute_per_run(table: pd.DataFrame, cleaned: pd.DataFrame) -> None:
    first: dict[str, int] = {}
    compute = cleaned["compute"].to_numpy()
    for row, run in enumerate(cleaned["run"].tolist()):
        if run not in first:
            first[run] = row
        elif compute[row] != compute[first[run]]:
            earlier = first[run]
            raise DataError(
                f"column 'compute', {_where(table, row)}: value {_show(table['compute'].iloc[row])} differs from "
                f"{_show(table['compute'].iloc[earlier])} in row {earlier} of the same run; a run has one training "
                "compute (give different runs different names)"
            )


def _check_duplicate_pairs(table: pd.DataFrame, cleaned: pd.DataFrame, has_run: bool) -> None:
    first: dict[tuple[str, str], int] = {}
    for row, key in enumerate(zip(cleaned["run"].tolist(), cleaned["problem"].tolist())):
        if key not in first:
            first[key] = row
            continue
        run = f"run {key[0]!r}" if has_run else f"run (compute={_show(cleaned['compute'].iloc[row])})"
        raise DataError(
            f"column 'problem', {_where(table, row)}: value {_show(table['problem'].iloc[row])} repeats row "
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


# ----------------------------------------------------------------------- hashing


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 hex digest of a runs or pass-counts table's content, independent of where it came from.

    A table with ``task_loss`` and ``accuracy`` columns is a capability table
    (``load_capability_runs``), one with a ``problem`` or ``correct`` column and no
    ``loss`` column a pass-counts table, any other a runs table. The table is validated as its kind
    (``load_pass_counts``, without its incomplete-runs warning, or ``load_runs``; both
    return their own output unchanged) so dtypes are canonical, its columns are sorted by
    name, and the digest is taken over ``to_csv(index=False)`` of that frame with floats
    written as ``%.17g`` (exact) and ``\\n`` line endings. So the same table hashes the
    same whether it was read from CSV, Parquet, JSON Lines or a DataFrame, whatever the
    column order or index; ``attrs`` (the source) are not hashed. Any change to a value,
    even in its last bit, changes the hash.
    """
    raw, label = _read(frame, "data_hash")
    if {"task_loss", "accuracy"} <= {str(name).strip() for name in raw.columns}:
        table = load_capability_runs(raw)
        table.attrs = {"source": label}
    elif _is_pass_counts(raw):
        if not isinstance(frame, pd.DataFrame):  # read the file again as load_pass_counts does
            raw, label = _read(frame, "data_hash", text_columns=_PASS_TEXT_COLUMNS, row_what="one row's columns")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IncompleteRunsWarning)
            table = _validate_pass_counts(raw, label, stacklevel=2)
    else:
        table = _validate_runs(raw, label)
    return validated_table_hash(table)


def validated_table_hash(table: pd.DataFrame) -> str:
    """``data_hash`` of a table a loader has already validated (no second validation, no guessing its kind)."""
    names = [str(name) for name in table.columns]
    order = sorted(range(len(names)), key=lambda i: names[i])
    text = table.iloc[:, order].to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_pass_counts(table: pd.DataFrame) -> bool:
    names = {name.strip() for name in table.columns if isinstance(name, str)}
    return "loss" not in names and bool({"problem", "correct"} & names)


# ----------------------------------------------------------------------- targets


def check_targets(frame: pd.DataFrame, targets, stacklevel: int = 2) -> np.ndarray:
    """The target compute budgets as a 1-D float64 array, warning about risky ones.

    ``targets`` is a number, a sequence of numbers or a numpy array (numeric strings
    are accepted). Raises ``DataError`` when it is empty, or a value is not a number,
    not finite, or <= 0. ``frame`` is a table from ``load_runs``; an
    ``ExtrapolationWarning`` is issued for each target inside its compute range
    (interpolation), below it (backcasting), or more than 10^6 × past its largest
    compute.
    """
    items, scalar = _target_items(targets)
    if not items:
        raise DataError("targets is empty; give at least one compute budget (FLOPs) to forecast")
    values = []
    for position, item in enumerate(items):
        where = "target" if scalar else f"targets[{position}]"
        value = _as_float(item)
        if value is None:
            raise DataError(f"{where}: value {_show(item)} {_why_not_numeric(item)}")
        if math.isnan(value):
            raise DataError(f"{where}: value {_show(item)} is NaN")
        if math.isinf(value):
            raise DataError(f"{where}: value {_show(item)} is infinite")
        if value <= 0:
            raise DataError(f"{where}: value {_show(item)} must be > 0 (a compute budget in FLOPs)")
        values.append(value)
    result = np.array(values, dtype=np.float64)

    if not isinstance(frame, pd.DataFrame) or "compute" not in frame.columns:
        raise DataError("check_targets() needs the runs table from load_runs(), with a 'compute' column")
    compute = frame["compute"].to_numpy(dtype=np.float64)
    low, high = float(compute.min()), float(compute.max())
    for target in result:
        if low <= target <= high:
            message = (
                f"target {_fmt(target)} lies inside the fitted compute range [{_fmt(low)}, {_fmt(high)}]: "
                "this is interpolation, not a forecast of a larger run"
            )
        elif target < low:
            message = (
                f"target {_fmt(target)} lies below the smallest compute in the data ({_fmt(low)}): this is "
                "backcasting, and the law was not fitted on runs that small"
            )
        elif target > MAX_EXTRAPOLATION * high:
            message = (
                f"target {_fmt(target)} is {_fmt(target / high)} × the largest compute in the data "
                f"({_fmt(high)}); extrapolations past 10^6 × are not trustworthy"
            )
        else:
            continue
        warnings.warn(message, ExtrapolationWarning, stacklevel=stacklevel)
    return result


def _target_items(targets) -> tuple[list, bool]:
    """(list of raw target values, whether a single number was given)."""
    if isinstance(targets, np.ndarray):
        if targets.ndim == 0:
            return [targets.item()], True
        if targets.ndim != 1:
            raise DataError(
                f"targets must be a number or a 1-D sequence of numbers, got an array of shape {targets.shape}"
            )
        return targets.tolist(), False
    if isinstance(targets, (str, numbers.Number, decimal.Decimal, np.generic)) or targets is None:
        return [targets], True
    if isinstance(targets, (Mapping, bytes, bytearray)) or not isinstance(targets, Iterable):
        raise DataError(f"targets must be a number or a sequence of numbers, got {type(targets).__name__}")
    return list(targets), False


def _fmt(x: float) -> str:
    """Compact number for messages: 3e18, 2.3e7, 150."""
    text = f"{x:.4g}"
    mantissa, sep, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if sep else text
