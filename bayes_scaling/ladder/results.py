"""Where a rung's results go: its ``metrics.json``, and one row of the ladder's ``runs.csv``.

``runs.csv`` is the table ``bs.load_runs`` reads, so it must never hold half a row or the
same run twice, even when a job is killed mid-write or several rungs (Slurm array tasks)
finish at once. Each update takes an exclusive lock beside the file and rewrites the whole
table with ``write_atomically`` (a temporary file moved over the old one): a reader sees
the old table or the new one, never a mix. A rung trained again (its config changed)
replaces its own row.
"""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path

from bayes_scaling.atomic_write import write_atomically

__all__ = ["RUN_COLUMNS", "locked_file", "read_metrics", "record_run", "write_json_atomic"]

# The first columns, in this order; any others a rung reports follow.
RUN_COLUMNS = ("run", "params", "non_embedding_params", "tokens", "compute", "loss", "seed", "config_hash")


def write_json_atomic(path: Path, data: dict) -> None:
    write_atomically(path, lambda temporary: temporary.write_text(json.dumps(data, indent=2) + "\n"))


def read_metrics(path: Path) -> dict | None:
    """A finished rung's metrics, or None when it has none (not finished, or the file is unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def record_run(runs_path: Path, row: dict) -> None:
    """Put ``row`` into ``runs_path``: appended, or replacing the row of the same ``run``."""
    runs_path = Path(runs_path)
    missing = [c for c in RUN_COLUMNS if c not in row]
    if missing:
        raise ValueError(f"a runs.csv row needs {', '.join(missing)}")
    with locked_file(runs_path):
        rows = []
        if runs_path.exists():
            with open(runs_path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if r.get("run") != row["run"]]
        rows.append({key: _text(value) for key, value in row.items()})
        columns = list(RUN_COLUMNS)
        for r in rows:
            columns += [key for key in r if key not in columns]

        def write(temporary: Path) -> None:
            with open(temporary, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows(rows)

        write_atomically(runs_path, write)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # reads back to the same float
    return str(value)


@contextlib.contextmanager
def locked_file(path: Path):
    """An exclusive lock on ``<path>.lock`` (POSIX ``flock``; released if the process dies)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
