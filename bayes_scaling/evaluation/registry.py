"""A tamper-evident registry of forecasts: register before the run, score after it.

A prediction is only worth something if it was made before the answer was known and
was not changed afterwards. ``register`` appends a forecast to a JSON Lines file, one
record per target compute, with everything needed to reproduce it (data hash, priors,
seed, sampler settings, package versions, diagnostics) and the 1st..99th percentiles
of its predictive draws, so it can be scored later without the netCDF file. ``score``
compares the records with the real numbers once they arrive.

How the chain works. Every record carries ``seq`` (its 0-based line number),
``prev_hash`` (the ``hash`` of the record before it; 64 zeros for the first) and
``hash``, the SHA-256 of the record's canonical JSON without its ``hash`` field
(``json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)``).
``verify`` recomputes all of them, so editing any value of a record, or deleting,
inserting or reordering records, shows up as a problem naming the line. ``register``
and ``score`` refuse a file that does not verify.

What the file alone cannot show. Deleting the *last* records leaves a shorter chain
that is still valid, and someone who rewrites the whole file and recomputes every hash
produces a valid chain too. The chain is only tamper-evident against a copy of its
head kept somewhere else: after registering, publish or commit ``verify(path).head``
(the hash of the last record), for instance in the risk review, and check later that
the file still contains a record with that hash at that position.

One name, one prediction. ``register`` refuses a name that is already registered, unless
told that the new forecast supersedes the old one (``supersedes=True``): its records then
list the hashes of the records they replace, in the chain, so the replacement is as
visible as the original. ``score`` scores both and marks the replaced ones.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayes_scaling.evaluation.scoring import pit_from_quantiles

try:  # serialise concurrent registers on POSIX; elsewhere rely on a single writer
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

if TYPE_CHECKING:  # verify and score read JSON only: no PyMC or JAX to import for them
    from bayes_scaling.forecast import Forecast

__all__ = ["GENESIS", "RegistryError", "VerifyResult", "record_hash", "register", "score", "verify"]

GENESIS = "0" * 64
PERCENTILES = np.arange(1, 100) / 100.0
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
# What score() reads from each record; verify() reports records that lack any of them.
_REQUIRED = ("seq", "name", "target", "median", "lower_50", "upper_50", "lower_90", "upper_90", "quantiles",
             "prev_hash", "hash")
_TARGET_RTOL = 1e-9


class RegistryError(ValueError):
    """A registry refused a forecast, a file or an actual; the message says which record.

    The registry is broken or unreadable, a name is taken, a forecast is unhealthy, or an
    actual matches no record. Raised by ``register``, ``score`` and ``verify`` (see each
    for when). A subclass of ``ValueError``. Its attribute ``cli_message`` says the same
    in the command line's words (its flags, not keyword arguments).

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> try:
    ...     bs.register(fc, "predictions.jsonl", name="big-run")
    ... except bs.RegistryError as error:
    ...     print(error)  # e.g. 'big-run' is already registered in predictions.jsonl ...
    """

    def __init__(self, message: str, cli_message: str | None = None):
        super().__init__(message)
        self.cli_message = message if cli_message is None else cli_message


@dataclass
class VerifyResult:
    """What ``verify`` found: ``ok`` (also the truth value), the number of records, the head hash, the problems."""

    ok: bool
    records: int
    head: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not tampering, but worth a look: a name registered twice

    def __bool__(self) -> bool:
        return self.ok


# --------------------------------------------------------------------------- hashing


def record_hash(record: dict) -> str:
    """SHA-256 hex of the canonical JSON of ``record`` without its ``hash`` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- verify


def verify(path) -> VerifyResult:
    """Check every record of the registry at ``path``; report all problems, not only the first.

    For each line: it must parse as a JSON object; its recomputed hash must equal its
    ``hash`` (else it was edited after it was registered); its ``prev_hash`` must equal
    the previous record's ``hash`` (else a record was deleted, inserted or reordered
    before it); its ``seq`` must equal its 0-based line index.

    Deleting the last records cannot be detected from the file alone, nor can a rewrite
    that recomputes every hash: publish or commit ``head`` after registering (e.g. in the
    risk review) and compare it later.

    Parameters
    ----------
    path : str or os.PathLike
        The registry, a JSON Lines file that ``register`` writes.

    Returns
    -------
    VerifyResult
        ``ok`` (also the result's truth value: no problems), ``records`` (the number of
        lines), ``head`` (the hash of the last record; 64 zeros for an empty file),
        ``problems`` (one sentence per problem, naming the line, the name and the target)
        and ``notes``: names registered twice at a target where the later record does
        not supersede the earlier (files from before ``register`` refused that).

    Raises
    ------
    RegistryError
        When the file is missing, cannot be read, or is not a JSON Lines registry at all.
        A registry with problems is not an error: they are in ``problems``.

    See Also
    --------
    register, score

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> result = bs.verify("predictions.jsonl")
    >>> result.ok, result.records
    (True, 2)
    >>> result.head  # publish this: a file whose head differs was changed
    '...'
    """
    return _load(Path(path))[0]


def _read(path: Path) -> bytes:
    if not path.exists():
        raise RegistryError(f"no registry file at {path}")
    if path.is_dir():
        raise RegistryError(f"{path} is a directory, not a registry file (JSON Lines)")
    try:
        return path.read_bytes()
    except OSError as error:
        raise RegistryError(f"cannot read the registry {path}: {error}") from error


def _load(path: Path, data: bytes | None = None) -> tuple[VerifyResult, list]:
    """``_parse`` of the file, refusing one in which no line is a record: that is not a registry."""
    state, records = _parse(_read(path) if data is None else data)
    if records and not any(isinstance(record, dict) for record in records):
        start = (_read(path) if data is None else data)[:24]
        raise RegistryError(
            f"{path} is not a JSON Lines registry: no line is a JSON object (it starts with {start!r}); "
            "give the file that register writes"
        )
    state.notes = _unsuperseded_repeats(records)
    return state, records


def _describe(record: dict) -> str:
    name = record.get("name", "?")
    target = record.get("target")
    shown = f"{target:g}" if isinstance(target, numbers.Real) and not isinstance(target, bool) else repr(target)
    return f"(name {name!r}, target {shown})"


def _parse(data: bytes) -> tuple[VerifyResult, list]:
    """The verification result and the parsed records (None for unreadable lines)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":  # the newline that ends the last record
        lines.pop()
    problems: list[str] = []
    parsed: list = []
    head = GENESIS
    previous: str | None = GENESIS  # hash of the previous line; None when it was unreadable
    for index, raw in enumerate(lines):
        number = index + 1
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append(f"line {number}: not valid JSON")
            parsed.append(None)
            previous = None
            continue
        parsed.append(record)
        if not isinstance(record, dict):
            problems.append(f"line {number}: not valid JSON for a record (expected an object)")
            previous = None
            continue
        where = f"record at line {number} {_describe(record)}"
        missing = [key for key in _REQUIRED if key not in record]
        if missing:
            problems.append(f"{where} lacks the fields {', '.join(missing)}: it was not written by register")
        stored = record.get("hash")
        try:
            recomputed = record_hash(record)
        except ValueError:  # NaN or infinity: never written by register
            recomputed = None
        if "hash" in record and stored != recomputed:
            problems.append(f"{where} was edited after it was registered (its hash does not match its content)")
        if previous is not None and "prev_hash" in record and record["prev_hash"] != previous:
            before = "the start of the file" if index == 0 else f"line {index}"
            problems.append(
                f"{where} does not follow {before}: a record was deleted, inserted or reordered before it"
            )
        seq = record.get("seq")
        if "seq" in record and not (isinstance(seq, int) and not isinstance(seq, bool) and seq == index):
            problems.append(
                f"{where} has seq {seq!r} but is record {index} (0-based): the sequence is broken here "
                "(records were reordered, deleted or inserted)"
            )
        previous = stored if isinstance(stored, str) else None
        head = stored if isinstance(stored, str) else head
    return VerifyResult(ok=not problems, records=len(lines), head=head, problems=problems), parsed


# --------------------------------------------------------------------------- register


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
    from bayes_scaling.forecast import Forecast

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
            state, parsed = _load(path, existing)
            if not state.ok:
                raise _broken(path, state, "refusing to append to it")
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
    current = _current(records)
    taken = [(line, record) for line, record in enumerate(records, start=1) if line - 1 in current and record.get("name") == name]
    if taken and not supersedes:
        line, first = taken[0]
        told = (f"{name!r} is already registered in {path} ({len(taken)} records, the first at line {line} "
                f"{_describe(first)}, registered {first.get('registered', '?')}): give this forecast a new name, or ")
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


def _current(records: list) -> set[int]:
    """Indices of the records no later record supersedes."""
    replaced = {h for record in records if isinstance(record, dict) for h in record.get("supersedes") or []}
    return {i for i, record in enumerate(records) if isinstance(record, dict) and record.get("hash") not in replaced}


def _unsuperseded_repeats(records: list) -> list[str]:
    """A note per (name, target) that two current records share: ``score`` would score it twice."""
    current = _current(records)
    first: dict[tuple, int] = {}
    notes = []
    for i in sorted(current):
        record = records[i]
        key = (record.get("name"), record.get("target"))
        if key in first:
            notes.append(f"record at line {i + 1} {_describe(record)} repeats line {first[key] + 1} without superseding it: "
                         "both are scored")
        else:
            first[key] = i
    return notes


def _broken(path: Path, state: VerifyResult, action: str) -> RegistryError:
    listed = "\n".join(f"  - {problem}" for problem in state.problems)
    first = state.problems[0]
    more = f" and {len(state.problems) - 1} more" if len(state.problems) > 1 else ""
    return RegistryError(
        f"the registry {path} is broken ({len(state.problems)} problems); {action}:\n{listed}",
        cli_message=f"the registry {path} is broken ({first}{more}); {action}; `bayes-scaling verify {path}` lists every problem",
    )


# --------------------------------------------------------------------------- score


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
    state, records = _load(path)
    if not state.ok:
        raise _broken(path, state, "refusing to score it")
    given = _match_actuals(records, _normalise_actuals(actuals))
    current = _current(records)

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
                raise ValueError(f"the actual for {_describe(records[i])} is given twice")
            given[i] = value
    return given
