"""A tamper-evident registry of forecasts: register before the run, score after it.

A prediction is only worth something if it was made before the answer was known and
was not changed afterwards. ``register`` appends a forecast to a JSON Lines file, one
record per target compute, with everything needed to reproduce it (data hash, priors,
seed, sampler settings, package versions, diagnostics) and the 1st..99th percentiles
of its predictive draws, so it can be scored later without the netCDF file. ``score``
compares the records with the real numbers once they arrive.

One name, one prediction. ``register`` refuses a name that is already registered, unless
told that the new forecast supersedes the old one (``supersedes=True``): its records then
list the hashes of the records they replace, in the chain, so the replacement is as
visible as the original. ``score`` scores both and marks the replaced ones.

The record format, the hash chain and ``verify`` are in ``registry_chain``; ``score`` is in
``registry_scoring``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bayes_scaling.evaluation.registry_chain import PERCENTILES, RegistryError, broken, current_indices, describe, load, record_hash

try:  # serialise concurrent registers on POSIX; elsewhere rely on a single writer
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

if TYPE_CHECKING:  # imported when register runs: importing this module loads no PyMC or JAX
    from bayes_scaling.forecast_result import Forecast

__all__ = ["register"]


def register(
    fc: Forecast,
    path="predictions.jsonl",
    *,
    name: str,
    note: str = "",
    allow_unhealthy: bool = False,
    supersedes: bool = False,
) -> list[dict]:
    """Append ``fc`` to the registry at ``path``, one record per target; return the records.

    The intervals are predictive (for one new run). The file is verified first and a
    broken one is refused. All lines of one call are written with a single append,
    flushed and fsynced; on POSIX the file is locked while it is checked and appended
    to. The parent folder is created if missing.

    Parameters
    ----------
    fc : Forecast
        A forecast from ``bs.forecast``. For per-bucket laws the headline quantity over
        all problems is registered.
    path : str or os.PathLike, default "predictions.jsonl"
        The registry, a JSON Lines file; created if missing.
    name : str
        Required, keyword-only and non-empty: names the prediction, e.g. the run it is
        about; it is how ``score`` matches actuals. A name already in the registry is
        refused unless ``supersedes=True``.
    note : str, default ""
        Free text kept in every record, e.g. "ladder v3, before launch".
    allow_unhealthy : bool, default False
        Register a forecast whose sampler diagnostics failed anyway; its record keeps the
        failed diagnostics.
    supersedes : bool, default False
        Replace the prediction already registered under ``name``: the new records keep
        the hashes of the records they replace (refused when there are none).

    Returns
    -------
    list of dict
        The records appended, one per target, as written: ``seq``, the name and note,
        the law, the target, the median, mean and 50%/90% intervals, the 1st..99th
        percentiles of the predictive draws, the data's provenance, the priors, the
        versions, the seed and sampler settings, the diagnostics, ``supersedes``,
        ``registered``, ``prev_hash`` and ``hash``.

    Raises
    ------
    RegistryError
        When the file does not verify (it is broken), ``name`` is already registered
        without ``supersedes=True``, ``supersedes=True`` finds nothing to replace, or the
        forecast's sampler diagnostics failed without ``allow_unhealthy=True``.
    TypeError
        When ``fc`` is not a ``Forecast``.
    ValueError
        When ``name`` is empty or not a string, or ``note`` is not a string.

    See Also
    --------
    score, verify

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> fc = bs.forecast("runs.csv", target=[1e21, 1e22], seed=0)
    >>> records = bs.register(fc, "predictions.jsonl", name="big-run-v1", note="ladder v3, before launch")
    >>> len(records)
    2
    >>> bs.verify("predictions.jsonl").head == records[-1]["hash"]
    True
    """
    from bayes_scaling.forecast_result import Forecast

    if not isinstance(fc, Forecast):
        raise TypeError(f"register takes a Forecast (from bs.forecast), got {type(fc).__name__}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string naming the prediction, got {name!r}")
    if not isinstance(note, str):
        raise ValueError(f"note must be a string, got {type(note).__name__}")
    diagnostics = fc.diagnostics
    if not diagnostics.ok and not allow_unhealthy:
        failed = (
            "refusing to register a forecast whose sampler diagnostics failed ("
            + "; ".join(diagnostics.problems())
            + "): its intervals may not mean what they say. Rerun the forecast with more draws and tune, or "
        )
        raise RegistryError(
            failed + "pass allow_unhealthy=True to register it anyway (the record keeps its diagnostics)",
            cli_message=failed + "pass --allow-unhealthy to register it anyway (the record keeps its diagnostics)",
        )

    settings = fc.settings
    quantity = fc.quantities[0]  # per-bucket laws: their headline quantity over all problems
    frame = fc.to_frame("predictive", quantity=quantity)
    if "bucket" in frame:
        frame = frame[frame["bucket"] == "all"]
    quantiles = np.quantile(fc.draws("predictive", quantity), PERCENTILES, axis=0)  # (99, n_targets)
    shared = {
        "name": name,
        "note": note,
        "law": settings["law"],
        "quantity": quantity,
        "kind": "predictive",
    }
    provenance = {
        "data_sha256": settings["data_sha256"],
        "data_source": settings["data_source"],
        "data_file_sha256": settings.get("data_file_sha256"),  # absent from forecasts saved before it existed
        "data_note": settings.get("data_note"),  # what the data are, where the loader was told (the example: synthetic)
        "priors": settings["priors"],
        "versions": settings["versions"],
        "seed": settings["seed"],
        "sampler": {key: settings[key] for key in ("draws", "tune", "chains", "target_accept")},
        "diagnostics": {key: _plain(value) for key, value in diagnostics.as_dict().items()},
        "forecast_created": settings["created"],
    }

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.seek(0)
            existing = handle.read()
            state, parsed = load(path, existing)
            if not state.ok:
                raise broken(path, state, "refusing to append to it")
            replaced = _records_replaced(parsed, name, supersedes, path)
            registered = datetime.now(timezone.utc).isoformat(timespec="seconds")
            records, previous = [], state.head
            for column, row in enumerate(frame.itertuples(index=False)):
                record = {
                    "seq": state.records + column,
                    **shared,
                    "target": float(row.compute),
                    "median": float(row.median),
                    "mean": float(row.mean),
                    "lower_50": float(row.lower_50),
                    "upper_50": float(row.upper_50),
                    "lower_90": float(row.lower_90),
                    "upper_90": float(row.upper_90),
                    "quantiles": [float(value) for value in quantiles[:, column]],
                    **provenance,
                    "supersedes": replaced,
                    "registered": registered,
                    "prev_hash": previous,
                }
                record["hash"] = previous = record_hash(record)
                records.append(record)
            text = "".join(json.dumps(record, allow_nan=False) + "\n" for record in records)
            if existing and not existing.endswith(b"\n"):
                text = "\n" + text
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return records


def _plain(value):
    """JSON-safe scalars: numpy to Python, non-finite floats to None (the hash forbids NaN)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    return value


def _records_replaced(records: list, name: str, supersedes: bool, path: Path) -> list[str]:
    """Hashes of the current records named ``name`` that a new registration replaces; a taken
    name without ``supersedes``, or ``supersedes`` with nothing to replace, is refused."""
    current = current_indices(records)
    taken = [(line, record) for line, record in enumerate(records, start=1) if line - 1 in current and record.get("name") == name]
    if taken and not supersedes:
        line, first = taken[0]
        told = (f"{name!r} is already registered in {path} ({len(taken)} records, the first at line {line} "
                f"{describe(first)}, registered {first.get('registered', '?')}): give this forecast a new name, or ")
        raise RegistryError(
            told + "pass supersedes=True to replace that prediction (the new records keep the hashes of those they replace)",
            cli_message=told + "pass --supersedes to replace that prediction (the new records keep the hashes of those they replace)",
        )
    if supersedes and not taken:
        raise RegistryError(
            f"nothing named {name!r} to supersede in {path}; register it without supersedes=True",
            cli_message=f"nothing named {name!r} to supersede in {path}; register it without --supersedes",
        )
    return [record["hash"] for _, record in taken]

