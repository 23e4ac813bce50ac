"""Read a table from a DataFrame, CSV, Parquet or JSON Lines file, with its provenance (source, file hash)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from bayes_scaling.tables.columns import KNOWN_COLUMNS, clean_name, normalise_columns
from bayes_scaling.tables.errors import DataError


_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
# Delimiters a CSV file may use, sniffed from its header; a header with none of them is one column.
_DELIMITERS = ",;\t"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Floats must read back exactly as written: pandas 3 does that by default (and deprecates
# the option); pandas 2's default "high" precision parser can be off in the last bit.
_CSV_OPTIONS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
def read_table(source, caller: str, known_columns: Sequence[str] = KNOWN_COLUMNS) -> tuple[pd.DataFrame, str]:
    """The table of ``source`` before its values are checked, and a label for messages.

    Read as ``load_runs`` reads it (a private copy; ``caller`` names the public function in
    messages), with every column name stripped and a named index made a column again: for a
    law's loader that must look at columns before validating, e.g. the Chinchilla law
    deriving ``compute`` from ``params`` and ``tokens``. Its ``attrs`` carry the file's
    provenance to the loader that validates it.
    """
    raw, label = read(source, caller)
    return normalise_columns(raw, known_columns), label


def read(
    source, caller: str, text_columns: Sequence[str] = (), row_what: str = "one run's columns"
) -> tuple[pd.DataFrame, str]:
    """The raw table (a private copy) and a label for messages: the path or 'DataFrame'.

    ``caller`` names the public function in messages; CSV columns whose stripped name is
    in ``text_columns`` are read as text; ``row_what`` says what a JSON Lines object holds.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(deep=True), "DataFrame"  # keeps its attrs: the provenance of a loaded table
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"{caller}() takes a path (str or os.PathLike) or a pandas DataFrame, got {type(source).__name__}"
        )
    label = os.fsdecode(os.fspath(source))
    path = Path(label)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as err:  # a path component over the file system's limit, a NUL byte
        raise DataError(f"cannot read {label!r}: {getattr(err, 'strerror', None) or err}") from None
    if not exists:
        raise DataError(f"file not found: {label!r}")
    if is_dir:
        raise DataError(f"{label!r} is a directory; give the path of a table file inside it")
    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS:
        what = f"unknown extension {suffix!r}" if suffix else "no file extension"
        raise DataError(f"cannot read {label!r}: {what}; accepted extensions are {', '.join(sorted(_EXTENSIONS))}")
    kind = _EXTENSIONS[suffix]
    try:
        if kind == "csv":
            raw = _read_csv(path, label, text_columns)
        elif kind == "parquet":
            raw = pd.read_parquet(path)
        else:
            raw = _read_jsonl(path, row_what)
        raw.attrs = {"source": label, "file_sha256": _file_sha256(path)}
        return raw, label
    except DataError:
        raise
    except Exception as err:  # every reader failure becomes a DataError with its message
        raise DataError(f"could not read {kind} file {label!r}: {type(err).__name__}: {err}") from err


def _read_csv(path: Path, label: str, text_columns: Sequence[str]) -> pd.DataFrame:
    """A CSV file as text cells parsed by pandas: delimiter sniffed, BOM dropped, and no cell
    turned into NaN behind the user's back (``n/a`` stays ``'n/a'``, so a message can show it)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        first_line = handle.readline()
    delimiter = _sniff_delimiter(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    _check_csv_header(header, label)
    options: dict[str, object] = {**_CSV_OPTIONS, "sep": delimiter, "encoding": "utf-8-sig", "keep_default_na": False}
    text = {name: str for name in header if clean_name(name) in text_columns}
    if text:
        options["dtype"] = text
    return pd.read_csv(path, **options)


def _sniff_delimiter(header: str) -> str:
    """Comma, semicolon or tab, whichever the header line is split by (a comma when it is one column)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def provenance(given: Mapping, table: pd.DataFrame) -> dict:
    """Where a validated ``table`` came from: ``source``, ``file_sha256`` and the table's ``sha256``.

    ``given`` are the attrs of the raw table: a file's path and hash from ``read``, or the
    attrs of a frame an earlier load returned. Such a frame keeps its file's provenance, and
    a ``note`` saying what the data are (``attrs["note"]``, e.g. "synthetic"), only while its
    content is what was loaded (same ``sha256``); a changed one says so.
    """
    content = validated_table_hash(table)
    source, file_hash = given.get("source"), given.get("file_sha256")
    if given.get("sha256", content) != content:
        changed = f" (from {source!r}, changed since it was loaded)" if file_hash else ""
        return {"source": "DataFrame" + changed, "file_sha256": None, "sha256": content}
    if source is None or file_hash is None:
        kept = {"source": "DataFrame", "file_sha256": None, "sha256": content}
    else:
        kept = {"source": source, "file_sha256": file_hash, "sha256": content}
    return kept | ({"note": str(given["note"])} if given.get("note") else {})


def _check_csv_header(header: Sequence[str], label: str) -> None:
    """pandas renames a repeated column (``loss``, ``loss.1``); a repeated name in the header is an error here,
    as a repeated known column of a DataFrame is."""
    seen: dict[str, int] = {}
    for name in (clean_name(cell) for cell in header):
        seen[name] = seen.get(name, 0) + 1
    repeated = [name for name, count in seen.items() if count > 1 and name]
    if repeated:
        raise DataError(f"could not read csv file {label!r}: column {repeated[0]!r} appears {seen[repeated[0]]} times "
                        "in the header; keep only one")


def _read_jsonl(path: Path, row_what: str) -> pd.DataFrame:
    """One JSON object per line. Python's json keeps floats exact, unlike pandas.read_json."""
    records, numbers = [], []
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
                    f"{type(record).__name__}, not an object with {row_what}"
                )
            records.append(record)
            numbers.append(number)
    try:
        return pd.DataFrame(records)
    except UnicodeEncodeError:  # a \ud800-style escape decodes to a lone surrogate, which no string column takes
        for number, record in zip(numbers, records):
            for field, value in record.items():
                if isinstance(value, str) and any("\ud800" <= char <= "\udfff" for char in value):
                    raise DataError(f"could not read JSON Lines file {str(path)!r}: line {number}, field {field!r}: "
                                    f"value {value!r} is not valid text (a lone surrogate)") from None
        raise


def validated_table_hash(table: pd.DataFrame) -> str:
    """``data_hash`` of a table a loader has already validated (no second validation, no guessing its kind)."""
    names = [str(name) for name in table.columns]
    order = sorted(range(len(names)), key=lambda i: names[i])
    text = table.iloc[:, order].to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
