"""Check the target computes a forecast is asked for, against the fitted table."""

from __future__ import annotations

import decimal
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from bayes_scaling.tables.cells import as_float, show, why_not_numeric
from bayes_scaling.tables.columns import MAX_EXTRAPOLATION
from bayes_scaling.tables.errors import DataError, ExtrapolationWarning


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
        value = as_float(item)
        if value is None:
            raise DataError(f"{where}: value {show(item)} {why_not_numeric(item)}")
        if math.isnan(value):
            raise DataError(f"{where}: value {show(item)} is NaN")
        if math.isinf(value):
            raise DataError(f"{where}: value {show(item)} is infinite")
        if value <= 0:
            raise DataError(f"{where}: value {show(item)} must be > 0 (a compute budget in FLOPs)")
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
