"""The tidy tables a forecast is fitted on: reading, checking and hashing runs and pass counts.

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

from bayes_scaling.tables.columns import (
    MIN_DISTINCT_COMPUTE,
    OPTIONAL_PASS_COLUMNS,
    OPTIONAL_RUN_COLUMNS,
    REQUIRED_PASS_COLUMNS,
    REQUIRED_RUN_COLUMNS,
)
from bayes_scaling.tables.errors import DataError, ExtrapolationWarning, IdentifiabilityWarning, IncompleteRunsWarning
from bayes_scaling.tables.hashing import data_hash
from bayes_scaling.tables.pass_counts import load_pass_counts
from bayes_scaling.tables.reading import read_table, validated_table_hash
from bayes_scaling.tables.runs import load_capability_runs, load_runs
from bayes_scaling.tables.targets import check_targets

__all__ = [
    "MIN_DISTINCT_COMPUTE",
    "OPTIONAL_PASS_COLUMNS",
    "OPTIONAL_RUN_COLUMNS",
    "REQUIRED_PASS_COLUMNS",
    "REQUIRED_RUN_COLUMNS",
    "DataError",
    "ExtrapolationWarning",
    "IdentifiabilityWarning",
    "IncompleteRunsWarning",
    "check_targets",
    "data_hash",
    "load_capability_runs",
    "load_pass_counts",
    "load_runs",
    "read_table",
    "validated_table_hash",
]
