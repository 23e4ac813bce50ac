"""Progress that fits where it goes: a moving bar on a terminal, a line every ~10% in a log.

A bar redraws itself with carriage returns: on a terminal that is a moving bar, in a log
file or a pipe it is a line of ``\\r`` junk per update. So a bar is drawn only where
someone watches (stderr is a terminal, or a Jupyter kernel, where ``tqdm.auto`` draws a
widget); anywhere else the same calls print one plain line each time another tenth of the
work is done (training a rung, sampling code, a NUTS fit), so a log of an hour's job has a
dozen lines rather than thousands of updates. ``BAYES_SCALING_PROGRESS=off`` silences both
(the documentation checks set it: their outputs are what a terminal shows once the bar is gone).
"""

from __future__ import annotations

import os
import sys
import time

LINES_EVERY = 0.1  # share of the work between two log lines


def progress_bar(enabled: bool, **options):
    """A tqdm bar on a terminal, a ``LineProgress`` elsewhere, disabled unless ``enabled``."""
    from tqdm.auto import tqdm

    if enabled and os.environ.get("BAYES_SCALING_PROGRESS", "").lower() in ("off", "0", "no"):
        enabled = False
    if enabled and not interactive():
        return LineProgress(**options)
    return tqdm(disable=not (enabled and interactive()), **options)


class LineProgress:
    """The calls code makes on a tqdm bar, printed as a line at every further ``LINES_EVERY`` of ``total``."""

    def __init__(self, total=None, initial: int = 0, desc: str = "", unit: str = "it", stream=None, **_ignored):
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.postfix = ""
        self._started = time.perf_counter()
        self._initial = initial
        self._next = self._next_mark(initial)
        self._printed_at = None

    def _next_mark(self, done: int) -> float:
        if not self.total:
            return float("inf")
        step = self.total * LINES_EVERY
        return (int(done / step) + 1) * step

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next:
            self._line()
            self._next = self._next_mark(self.n)

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **values) -> None:
        values = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if self.total and self._printed_at != self.n and self.n > self._initial:
            self._line()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _line(self) -> None:
        elapsed = time.perf_counter() - self._started
        share = f"{self.n / self.total:4.0%} " if self.total else ""
        total = f"/{self.total:,}" if self.total else ""
        text = f"{self.desc}: {share}({self.n:,}{total} {self.unit}s, {elapsed:,.0f} s)"
        if self.postfix:
            text += f" {self.postfix}"
        print(text, file=self.stream, flush=True)
        self._printed_at = self.n


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
