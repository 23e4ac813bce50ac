"""The two notices PyMC's stack prints that are noise for our users, silenced only while they can appear.

PyTensor warns that it found no C BLAS (we sample on JAX, which brings its own), and ArviZ
prints a once-a-day notice of its coming refactor when first imported (we pin its current
API). ``quietly()`` ignores those two, and nothing else, inside a ``with`` block: the first
imports of PyMC and ArviZ, the compilation of a model to JAX (PyTensor's rewrites look for the
BLAS there) and PyMC's own sampler. No filter outlives the block, so a user's warning settings
are theirs.
"""

from __future__ import annotations

import contextlib
import warnings

# (message regex, category). ArviZ's notice starts with a newline, which the regex must allow.
QUIETED = (("PyTensor could not link to a BLAS", UserWarning), (r"\s*ArviZ is undergoing a major refactor", FutureWarning))


@contextlib.contextmanager
def quietly():
    """Ignore the ``QUIETED`` notices inside the block; every other warning shows as before."""
    with warnings.catch_warnings():
        for message, category in QUIETED:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
