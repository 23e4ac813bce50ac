"""A table's content hash, the same for the same numbers whatever file format they came in."""

from __future__ import annotations

import warnings

import pandas as pd

from bayes_scaling.tables.columns import PASS_TEXT_COLUMNS
from bayes_scaling.tables.errors import IncompleteRunsWarning
from bayes_scaling.tables.pass_counts import validate_pass_counts
from bayes_scaling.tables.reading import read, validated_table_hash
from bayes_scaling.tables.runs import load_capability_runs, validate_runs


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
    raw, label = read(frame, "data_hash")
    if {"task_loss", "accuracy"} <= {str(name).strip() for name in raw.columns}:
        table = load_capability_runs(raw)
        table.attrs = {"source": label}
    elif _is_pass_counts(raw):
        if not isinstance(frame, pd.DataFrame):  # read the file again as load_pass_counts does
            raw, label = read(frame, "data_hash", text_columns=PASS_TEXT_COLUMNS, row_what="one row's columns")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IncompleteRunsWarning)
            table = validate_pass_counts(raw, label, stacklevel=2)
    else:
        table = validate_runs(raw, label)
    return validated_table_hash(table)


def _is_pass_counts(table: pd.DataFrame) -> bool:
    names = {name.strip() for name in table.columns if isinstance(name, str)}
    return "loss" not in names and bool({"problem", "correct"} & names)
