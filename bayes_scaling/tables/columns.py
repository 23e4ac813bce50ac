"""The tables' column contracts: required and optional columns, and how given column names are matched to them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayes_scaling.tables.errors import DataError


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
KNOWN_COLUMNS = REQUIRED_RUN_COLUMNS + OPTIONAL_RUN_COLUMNS + ("evaluation",)  # tables/evaluations.py
KNOWN_PASS_COLUMNS = REQUIRED_PASS_COLUMNS + OPTIONAL_PASS_COLUMNS
# Read as text from CSV, so that ids such as '007' keep their leading zeros.
PASS_TEXT_COLUMNS = ("run", "problem", "model", "suite")
def with_extras(out: pd.DataFrame, table: pd.DataFrame, known_columns: Sequence[str]) -> pd.DataFrame:
    """``out`` followed by the table's columns that are not ``known_columns``, untouched, in input order."""
    extras = [i for i, name in enumerate(table.columns) if name not in known_columns]
    return pd.concat([out, table.iloc[:, extras]], axis=1) if extras else out


def clean_name(name):
    """A header as the user means it: without a byte-order mark or surrounding whitespace."""
    return name.strip().lstrip("\ufeff").strip() if isinstance(name, str) else name


def normalise_columns(table: pd.DataFrame, known_columns: Sequence[str]) -> pd.DataFrame:
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

    stripped = [clean_name(name) for name in table.columns]
    for name in dict.fromkeys(stripped):
        spellings = [orig for orig, new in zip(table.columns, stripped) if new == name]
        if len(spellings) > 1:
            raise DataError(f"column {name!r} appears {len(spellings)} times (as {spellings}); keep only one")
    table.columns = stripped
    table.attrs = attrs
    return table


def require_columns(table: pd.DataFrame, required: Sequence[str]) -> None:
    for name in required:
        if name in table.columns:
            continue
        found = list(table.columns)
        hint = ""
        near = [c for c in found if isinstance(c, str) and c.strip().lower() == name]
        if near:
            hint = f" (column names are case-sensitive: rename {near[0]!r} to {name!r})"
        raise DataError(f"missing required column {name!r}; found columns: {found}{hint}")
