"""The registry's file: what a record holds, the hash chain that links the records, and ``verify``.

Kept apart from registering and scoring because both stand on it: each refuses a file
that does not verify, reads the records through ``load`` and names them with ``describe``.
It reads JSON only, so ``verify`` and ``score`` import no PyMC or JAX.

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
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["GENESIS", "RegistryError", "VerifyResult", "record_hash", "verify"]

GENESIS = "0" * 64
PERCENTILES = np.arange(1, 100) / 100.0
# What score() reads from each record; verify() reports records that lack any of them.
_REQUIRED = ("seq", "name", "target", "median", "lower_50", "upper_50", "lower_90", "upper_90", "quantiles",
             "prev_hash", "hash")


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
    return load(Path(path))[0]


def _read(path: Path) -> bytes:
    if not path.exists():
        raise RegistryError(f"no registry file at {path}")
    if path.is_dir():
        raise RegistryError(f"{path} is a directory, not a registry file (JSON Lines)")
    try:
        return path.read_bytes()
    except OSError as error:
        raise RegistryError(f"cannot read the registry {path}: {error}") from error


def load(path: Path, data: bytes | None = None) -> tuple[VerifyResult, list]:
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


def describe(record: dict) -> str:
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
        where = f"record at line {number} {describe(record)}"
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


def broken(path: Path, state: VerifyResult, action: str) -> RegistryError:
    """The error for a file that does not verify: every problem in the message, the first in the CLI's."""
    listed = "\n".join(f"  - {problem}" for problem in state.problems)
    first = state.problems[0]
    more = f" and {len(state.problems) - 1} more" if len(state.problems) > 1 else ""
    return RegistryError(
        f"the registry {path} is broken ({len(state.problems)} problems); {action}:\n{listed}",
        cli_message=f"the registry {path} is broken ({first}{more}); {action}; `bayes-scaling verify {path}` lists every problem",
    )


# --------------------------------------------------------------------------- superseded records


def current_indices(records: list) -> set[int]:
    """Indices of the records no later record supersedes."""
    replaced = {h for record in records if isinstance(record, dict) for h in record.get("supersedes") or []}
    return {i for i, record in enumerate(records) if isinstance(record, dict) and record.get("hash") not in replaced}


def _unsuperseded_repeats(records: list) -> list[str]:
    """A note per (name, target) that two current records share: ``score`` would score it twice."""
    current = current_indices(records)
    first: dict[tuple, int] = {}
    notes = []
    for i in sorted(current):
        record = records[i]
        key = (record.get("name"), record.get("target"))
        if key in first:
            notes.append(f"record at line {i + 1} {describe(record)} repeats line {first[key] + 1} without superseding it: "
                         "both are scored")
        else:
            first[key] = i
    return notes
