"""Replace a file so that a reader sees the old file or the new one, never half of one.

Results tables, metrics, tokenizers and checkpoints are read by other processes (a
forecast, a resumed rung, a Slurm array task) while they may be rewritten, and a job can
be killed mid-write. So the content goes to a temporary file beside the target (same
folder, same filesystem), is flushed to disk, and is moved over the target with
``os.replace``, which is atomic on POSIX. The temporary file is named after the process, so
two processes writing the same target never share one; the last to finish wins, which is
harmless when they write the same content (two trainers of one tokenizer). If writing
fails, the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary)`` to write the whole content, then move it over ``path`` in one step.

    ``write`` gets a path to write to (``torch.save(state, p)``, ``tokenizer.save(str(p))``,
    ``p.write_text(...)``, ``frame.to_csv(p)``); one writer per process and target.
    """
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())  # on disk before it is renamed: a crash leaves the old file, not an empty one
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
