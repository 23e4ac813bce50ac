"""Progress bars that show where someone watches and stay out of files.

A bar redraws itself with carriage returns: on a terminal that is a moving bar, in a log
file or a pipe it is a line of ``\\r`` junk per update. So a bar is drawn only when asked
for *and* stderr is a terminal (or a Jupyter kernel, where ``tqdm.auto`` draws a widget).
"""

from __future__ import annotations

import sys


def progress_bar(enabled: bool, **options):
    """``tqdm.auto.tqdm(**options)``, disabled unless ``enabled`` and someone can see it."""
    from tqdm.auto import tqdm

    return tqdm(disable=not (enabled and interactive()), **options)


def interactive(stream=None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal, or this runs in a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
