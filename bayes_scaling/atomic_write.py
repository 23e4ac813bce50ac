"""Replace a file so that a reader sees the old file or the new one, never half of one.

Results tables, metrics, tokenizers and checkpoints are read by other processes (a
forecast, a resumed rung, a Slurm array task) while they may be rewritten, and a job can
be killed mid-write. So the content goes to a temporary file beside the target (same
folder, same filesystem), is flushed to disk, and is moved over the target with
``os.replace``, which is atomic on POSIX. Every write gets its own temporary file
(``tempfile.mkstemp``: a unique name even for writers on different hosts of a shared
filesystem, or threads of one process), so concurrent writers never share one; the last to
finish wins, which is harmless when they write the same content (two trainers of one
tokenizer). If writing fails, the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]

# mkstemp makes a file only its owner can read; the target gets the usual permissions instead
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomically(path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary)`` to write the whole content, then move it over ``path`` in one step.

    ``write`` gets a path to write to (``torch.save(state, p)``, ``tokenizer.save(str(p))``,
    ``p.write_text(...)``, ``frame.to_csv(p)``); it may replace the (empty) file there.
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_UMASK)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())  # on disk before it is renamed: a crash leaves the old file, not an empty one
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
