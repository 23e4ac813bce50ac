"""``score``: the registered forecasts against the real numbers, once the runs are done.

Apart from ``register`` because scoring happens later, often elsewhere, and needs only the
file: it reads the records ``registry_chain`` verifies (their stored percentiles, not the
forecast's draws), so it imports no PyMC or JAX.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import pandas as pd

from bayes_scaling.evaluation.registry_chain import PERCENTILES, RegistryError, broken, current_indices, describe, load
from bayes_scaling.scoring import pit_from_quantiles

__all__ = ["score"]

SCORE_COLUMNS = [
    "name",
    "target",
    "median",
    "lower_90",
    "upper_90",
    "actual",
    "inside_50",
    "inside_90",
    "pit",
    "error",
    "abs_pct_error",
    "superseded",
]
_TARGET_RTOL = 1e-9


def score(path, actuals) -> pd.DataFrame:
    """Score every registered record against the real numbers; one row per record, in file order.

    The file is verified first and a broken one is refused.

    Parameters
    ----------
    path : str or os.PathLike
        The registry that ``register`` wrote.
    actuals : dict or pandas.DataFrame
        A dict ``{name: value}`` (only for names registered at a single target), a dict
        ``{(name, target): value}`` (targets match with a relative tolerance of 1e-9), or
        a DataFrame with columns ``name``, ``target``, ``actual``.

    Returns
    -------
    pandas.DataFrame
        Columns: ``name, target, median, lower_90, upper_90, actual, inside_50,
        inside_90, pit, error, abs_pct_error, superseded``. ``inside_*`` are whether the
        actual lies in the closed predictive interval; ``pit`` is the predictive CDF at
        the actual, interpolated linearly between the stored 1st..99th percentiles; an
        actual below the 1st percentile gets 0.005 and one above the 99th gets 0.995 (the
        middle of the outer 1%: the stored percentiles say nothing about where in the
        tail it lies). ``error = actual - median``, ``abs_pct_error = 100 * |actual /
        median - 1|``. Records without an actual get NaN for the numbers and None for
        ``inside_*``. ``superseded`` marks records a later registration under the same
        name replaced: they are scored too, as what was predicted then.

    Raises
    ------
    RegistryError
        When the file does not verify (the message lists the problems), or an actual
        matches no record (or a bare name was registered at several targets).
    ValueError
        When an actual or its target is not a finite number, a key is neither a name nor
        a (name, target) pair, the DataFrame lacks a column, or a record's actual is
        given twice.
    TypeError
        When ``actuals`` is neither a dict nor a DataFrame.

    See Also
    --------
    register, verify

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> scored = bs.score("predictions.jsonl", {("big-run-v1", 1e21): 2.17})
    >>> scored[["name", "target", "median", "actual", "inside_90", "pit"]]
             name        target    median  actual inside_90       pit
    0  big-run-v1  1.000000e+21  2.167180    2.17      True  0.530008
    1  big-run-v1  1.000000e+22  2.024996     NaN      None       NaN
    """
    path = Path(path)
    state, records = load(path)
    if not state.ok:
        raise broken(path, state, "refusing to score it")
    given = _match_actuals(records, _normalise_actuals(actuals))
    current = current_indices(records)

    rows = []
    for index, record in enumerate(records):
        actual = given.get(index)
        row = {
            "name": record["name"],
            "target": record["target"],
            "median": record["median"],
            "lower_90": record["lower_90"],
            "upper_90": record["upper_90"],
            "actual": math.nan,
            "inside_50": None,
            "inside_90": None,
            "pit": math.nan,
            "error": math.nan,
            "abs_pct_error": math.nan,
            "superseded": index not in current,
        }
        if actual is not None:
            row.update(
                actual=actual,
                inside_50=bool(record["lower_50"] <= actual <= record["upper_50"]),
                inside_90=bool(record["lower_90"] <= actual <= record["upper_90"]),
                pit=pit_from_quantiles(record["quantiles"], actual, PERCENTILES),
                error=actual - record["median"],
                abs_pct_error=100.0 * abs(actual / record["median"] - 1.0),
            )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    for column in ("inside_50", "inside_90"):
        frame[column] = frame[column].astype(object)
    return frame


def _normalise_actuals(actuals) -> list[tuple[object, float | None, float]]:
    """``[(name, target or None, value)]`` from any accepted form; values checked finite."""
    if isinstance(actuals, pd.DataFrame):
        missing = [column for column in ("name", "target", "actual") if column not in actuals.columns]
        if missing:
            raise ValueError(f"the actuals DataFrame needs columns name, target, actual; missing {missing}")
        items = [((row.name, row.target), row.actual) for row in actuals[["name", "target", "actual"]].itertuples(index=False)]
    elif isinstance(actuals, dict):
        items = list(actuals.items())
    else:
        raise TypeError(
            f"actuals must be a dict or a DataFrame with columns name, target, actual, got {type(actuals).__name__}"
        )
    out = []
    for key, value in items:
        if isinstance(key, tuple) and len(key) == 2:
            name, target = key
            if not isinstance(target, numbers.Real) or isinstance(target, bool) or not math.isfinite(target):
                raise ValueError(f"actual for {key!r}: the target must be a finite number")
            target = float(target)
        elif isinstance(key, str):
            name, target = key, None
        else:
            raise ValueError(f"actuals keys must be a name or a (name, target) pair, got {key!r}")
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"actual for {key!r} must be a finite number, got {value!r}")
        out.append((name, target, float(value)))
    return out


def _match_actuals(records: list[dict], actuals) -> dict[int, float]:
    """Record index -> actual. Several records can share a (name, target): each gets the actual."""
    given: dict[int, float] = {}
    for name, target, value in actuals:
        named = [i for i, record in enumerate(records) if record["name"] == name]
        if not named:
            raise RegistryError(f"no registered prediction is named {name!r}")
        if target is None:
            targets = sorted({records[i]["target"] for i in named})
            if len(targets) > 1:
                shown = ", ".join(f"{t:g}" for t in targets)
                several = f"{name!r} was registered at {len(targets)} targets ({shown}): "
                raise RegistryError(
                    several + f"give its actuals keyed by (name, target), e.g. {{({name!r}, {targets[0]:g}): value}}",
                    cli_message=several + f"give one --actual per target, e.g. --actual {name}@{targets[0]:g}=VALUE",
                )
            matches = named
        else:
            matches = [i for i in named if math.isclose(records[i]["target"], target, rel_tol=_TARGET_RTOL)]
            if not matches:
                shown = ", ".join(f"{t:g}" for t in sorted({records[i]['target'] for i in named}))
                raise RegistryError(
                    f"no registered prediction for (name {name!r}, target {target:g}); {name!r} was registered "
                    f"at {shown}"
                )
        for i in matches:
            if i in given:
                raise ValueError(f"the actual for {describe(records[i])} is given twice")
            given[i] = value
    return given
