"""Load and validate the tidy table of training runs.

Every forecast starts from this table, so it is checked here, once, before any model
is built. A bad value that slips through surfaces much later as a PyMC traceback that
says nothing about the user's file; here every error is a ``DataError`` that names the
column, the row and the offending value, so the user can fix the file instead.

The table has one row per training run: ``compute`` (FLOPs) and ``loss`` are required;
``run``, ``params``, ``tokens``, ``seed`` and ``family`` are optional; any other
columns are carried along untouched. Rows are named by their 0-based position in the
user's input (the header of a CSV file is not a row), plus the run name when the table
has a ``run`` column: ``column 'loss', row 3 (run 'r4'): value -1.2 must be > 0``.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import math
import numbers
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "OPTIONAL_RUN_COLUMNS",
    "REQUIRED_RUN_COLUMNS",
    "DataError",
    "ExtrapolationWarning",
    "check_targets",
    "data_hash",
    "load_runs",
]

REQUIRED_RUN_COLUMNS = ("compute", "loss")
OPTIONAL_RUN_COLUMNS = ("run", "params", "tokens", "seed", "family")

# The smallest law (L = E + A * C**-alpha) has three parameters.
MIN_DISTINCT_COMPUTE = 3
# Past this factor beyond the largest run, a power law fitted on a ladder says little.
MAX_EXTRAPOLATION = 1e6

_EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_KNOWN_COLUMNS = REQUIRED_RUN_COLUMNS + OPTIONAL_RUN_COLUMNS
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Floats must read back exactly as written: pandas 3 does that by default (and deprecates
# the option); pandas 2's default "high" precision parser can be off in the last bit.
_CSV_OPTIONS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


class DataError(ValueError):
    """The runs table or the targets are unusable; the message says where and why."""


class ExtrapolationWarning(UserWarning):
    """A target compute is one the fitted law cannot forecast well (inside, below, or far past the data)."""


# --------------------------------------------------------------------------- loading


def load_runs(source) -> pd.DataFrame:
    """Read and validate a table of training runs.

    ``source`` is a path (``str`` or ``os.PathLike``) to a ``.csv``, ``.parquet``/``.pq``
    or ``.jsonl``/``.ndjson`` file, or a pandas DataFrame (which is copied, never
    modified). Column names are matched after stripping surrounding whitespace, and
    case-sensitively.

    Returns a new DataFrame with index ``0..n-1``, rows in the input order, and columns
    ``compute``, ``loss`` (float64), then whichever of ``run`` (str), ``params``,
    ``tokens`` (float64), ``seed`` (int64), ``family`` (str) are present, in that order,
    then any other columns, untouched, in their input order. ``attrs["source"]`` is the
    path, or ``"DataFrame"``.

    Raises ``DataError`` for the first of these problems it finds: a missing required
    column; no rows; a value that is not a number (strings that parse as numbers are
    accepted, booleans are not); NaN or infinite values; ``compute`` or ``loss`` <= 0;
    invalid optional columns (``params``/``tokens`` must be finite and > 0, ``seed`` an
    integer, ``run``/``family`` present on every row); duplicate run names, or (without
    a ``run`` column) two identical rows; fewer than three distinct ``compute`` values.
    """
    raw, label = _read(source)
    table = _normalise_columns(raw)
    _require_columns(table)
    if len(table) == 0:
        raise DataError(f"the runs table from {label} has no rows; it needs one row per training run")

    cleaned: dict[str, object] = dict(_numeric_columns(table, REQUIRED_RUN_COLUMNS, positive=True))
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

    extras = [i for i, name in enumerate(table.columns) if name not in _KNOWN_COLUMNS]
    if extras:
        out = pd.concat([out, table.iloc[:, extras]], axis=1)
    out.attrs = {"source": label}
    return out


def _read(source) -> tuple[pd.DataFrame, str]:
    """The raw table (a private copy) and a label for messages: the path or 'DataFrame'."""
    if isinstance(source, pd.DataFrame):
        return source.copy(deep=True), "DataFrame"
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"load_runs() takes a path (str or os.PathLike) or a pandas DataFrame, got {type(source).__name__}"
        )
    label = os.fsdecode(os.fspath(source))
    path = Path(label)
    suffix = path.suffix.lower()
    accepted = ", ".join(sorted(_EXTENSIONS))
    if suffix not in _EXTENSIONS:
        what = f"unknown extension {suffix!r}" if suffix else "no file extension"
        raise DataError(f"cannot read {label!r}: {what}; accepted extensions are {accepted}")
    kind = _EXTENSIONS[suffix]
    if not path.exists():
        raise DataError(f"file not found: {label!r}")
    if path.is_dir():
        raise DataError(f"{label!r} is a directory, not a {kind} file")
    try:
        if kind == "csv":
            return pd.read_csv(path, **_CSV_OPTIONS), label
        if kind == "parquet":
            return pd.read_parquet(path), label
        return _read_jsonl(path), label
    except DataError:
        raise
    except Exception as err:  # every reader failure becomes a DataError with its message
        raise DataError(f"could not read {kind} file {label!r}: {type(err).__name__}: {err}") from err


def _read_jsonl(path: Path) -> pd.DataFrame:
    """One JSON object per line. Python's json keeps floats exact, unlike pandas.read_json."""
    records = []
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
                    f"{type(record).__name__}, not an object with one run's columns"
                )
            records.append(record)
    return pd.DataFrame(records)


def _normalise_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace from the known column names and give the table a 0..n-1 index.

    A named index (say the user did ``set_index("run")``) becomes a column again rather
    than being dropped; an unnamed one is dropped.
    """
    if any(name is not None for name in table.index.names) and not any(
        name in table.columns for name in table.index.names
    ):
        table = table.reset_index()
    table = table.reset_index(drop=True)

    stripped = [name.strip() if isinstance(name, str) else name for name in table.columns]
    for known in _KNOWN_COLUMNS:
        spellings = [orig for orig, new in zip(table.columns, stripped) if new == known]
        if len(spellings) > 1:
            raise DataError(f"column {known!r} appears {len(spellings)} times (as {spellings}); keep only one")
    table.columns = [new if new in _KNOWN_COLUMNS else orig for orig, new in zip(table.columns, stripped)]
    return table


def _require_columns(table: pd.DataFrame) -> None:
    for name in REQUIRED_RUN_COLUMNS:
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


def _numeric_columns(table: pd.DataFrame, names, positive: bool = True) -> dict[str, np.ndarray]:
    """Float64 values of several columns, checked stage by stage across all of them.

    Stages: parses as a number, finite, then > 0 (when ``positive``). Within a stage
    the earliest row wins, so the error is the one a user reading top-down meets first.
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
    return {name: p[1] for name, p in parsed.items()}


def _numeric_column(table: pd.DataFrame, name: str, positive: bool = True) -> np.ndarray:
    """Float64 values of one column: numbers, finite, and > 0 when ``positive``."""
    return _numeric_columns(table, (name,), positive=positive)[name]


def _seed_column(table: pd.DataFrame) -> np.ndarray:
    """Seeds as int64: finite, integer-valued and inside the 64-bit range."""
    values = _numeric_column(table, "seed", positive=False)
    originals = table["seed"].tolist()
    seeds = []
    for row, (original, value) in enumerate(zip(originals, values)):
        if not float(value).is_integer():
            raise DataError(f"column 'seed', {_where(table, row)}: value {_show(original)} must be an integer")
        seed = _exact_int(original, value)
        if not _INT64_MIN <= seed <= _INT64_MAX:
            raise DataError(
                f"column 'seed', {_where(table, row)}: value {_show(original)} is outside the 64-bit integer range"
            )
        seeds.append(seed)
    return np.array(seeds, dtype=np.int64)


def _exact_int(original, value: float) -> int:
    """The seed as a Python int, exact even past 2**53 when the input was an integer."""
    if isinstance(original, numbers.Integral) and not isinstance(original, (bool, np.bool_)):
        return int(original)
    if isinstance(original, str):
        try:
            return int(original.strip())
        except ValueError:
            pass
    return int(value)


def _text_column(table: pd.DataFrame, name: str) -> pd.Series:
    """A name column (run, family) as str; every row must have one."""
    texts = []
    for row, value in enumerate(table[name].tolist()):
        if _is_missing(value):
            raise DataError(
                f"column {name!r}, {_where(table, row)}: value {_show(value)} is missing; every row needs a {name} name"
            )
        if isinstance(value, np.generic):
            value = value.item()
        texts.append(value if isinstance(value, str) else str(value))
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


# ----------------------------------------------------------------------- hashing


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 hex digest of a runs table's content, independent of where it came from.

    The table is validated (``load_runs``) so dtypes are canonical, its columns are
    sorted by name, and the digest is taken over ``to_csv(index=False)`` of that frame
    with floats written as ``%.17g`` (exact) and ``\\n`` line endings. So the same runs
    hash the same whether they were read from CSV, Parquet, JSON Lines or a DataFrame,
    whatever the column order or index; ``attrs`` (the source) are not hashed. Any
    change to a value, even in its last bit, changes the hash.
    """
    table = load_runs(frame)
    names = [str(name) for name in table.columns]
    order = sorted(range(len(names)), key=lambda i: names[i])
    text = table.iloc[:, order].to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
