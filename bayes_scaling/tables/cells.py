"""Parse and check one column's cells, naming the first bad cell by column, row and value."""

from __future__ import annotations

import decimal
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from bayes_scaling.tables.errors import DataError


# A number written with a decimal comma (3,5) or a thousands separator (1,000).
_COMMA_NUMBER = re.compile(r"^[+-]?\d+(,\d+)+([eE][+-]?\d+)?$")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
def where(table: pd.DataFrame, i: int) -> str:
    """'row 3', or 'row 3 (run 'r4')' when the table has a run column."""
    if "run" in table.columns and not _is_missing(name := table["run"].iloc[i]):
        return f"row {i} (run {show(name)})"
    return f"row {i}"


def show(value) -> str:
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


def as_float(value) -> float | None:
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


def why_not_numeric(value) -> str:
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
    parsed = [as_float(v) for v in originals]
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


# One extra check stage of numeric_columns: column -> (mask of bad float values, problem),
# the problem being text, or a function of the bad float value that returns the text.
Stage = Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], str | Callable[[float], str]]]


def numeric_columns(
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
            raise DataError(f"column {name!r}, {where(table, row)}: value {show(value)} {problem}")

    fail({n: p[2] for n, p in parsed.items()}, lambda v, n, r: why_not_numeric(v))
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


def numeric_column(table: pd.DataFrame, name: str, positive: bool = True, stages: Sequence[Stage] = ()) -> np.ndarray:
    """Float64 values of one column: numbers, finite, > 0 when ``positive``, then ``stages``."""
    return numeric_columns(table, (name,), positive=positive, stages=stages)[name]


def not_integer(values: np.ndarray) -> np.ndarray:
    return values != np.floor(values)


def seed_column(table: pd.DataFrame) -> np.ndarray:
    """Seeds as int64: finite, integer-valued and inside the 64-bit range."""
    values = numeric_column(table, "seed", positive=False, stages=({"seed": (not_integer, "must be an integer")},))
    return int64_column(table, "seed", values)


def int64_column(table: pd.DataFrame, name: str, values: np.ndarray) -> np.ndarray:
    """Integer-valued, finite float ``values`` of column ``name`` as exact int64, range-checked."""
    column = table[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "i":
        return column.to_numpy(dtype=np.int64)
    ints = []
    for row, (original, value) in enumerate(zip(column.tolist(), values)):
        number = _exact_int(original, value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise DataError(
                f"column {name!r}, {where(table, row)}: value {show(original)} is outside the 64-bit integer range"
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


def text_column(table: pd.DataFrame, name: str, what: str | None = None) -> pd.Series:
    """A name column (run, family, problem) as str; every row must have one (a ``what``)."""
    what = what or f"{name} name"
    texts = []
    for row, value in enumerate(table[name].tolist()):
        if _is_missing(value):
            raise DataError(
                f"column {name!r}, {where(table, row)}: value {show(value)} is missing; every row needs {'an' if what[0] in 'aeiou' else 'a'} {what}"
            )
        if isinstance(value, np.generic):
            value = value.item()
        text = value if isinstance(value, str) else str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise DataError(
                f"column {name!r}, {where(table, row)}: value {show(value)} is not valid text "
                f"(a lone surrogate {text[err.start]!r} at position {err.start}; names must be UTF-8)"
            ) from None
        texts.append(text)
    return pd.Series(texts, dtype=str, index=pd.RangeIndex(len(texts)))
