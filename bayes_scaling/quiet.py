"""The notices PyMC's stack prints that are noise for our users, silenced only while they can appear.

PyTensor warns that it found no C BLAS (we sample on JAX, which brings its own); ArviZ
prints a once-a-day notice of its coming refactor when first imported (we pin its current
API); PyTensor's JAX linker says it draws from a copy of a random generator, and PyMC logs
``Sampling: [b]``, when a user's prior is drawn from to check its support (the draws still
follow the seed we pass). ``quietly()`` ignores those, and nothing else, inside a ``with``
block: the first imports of PyMC and ArviZ, the compilation of a model to JAX (PyTensor's
rewrites look for the BLAS there), the draws of a user's prior and PyMC's own sampler. No
filter or log level outlives the block, so a user's settings are theirs.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

# (message regex, category). ArviZ's notice starts with a newline, which the regex must allow.
QUIETED = (
    ("PyTensor could not link to a BLAS", UserWarning),
    (r"\s*ArviZ is undergoing a major refactor", FutureWarning),
    ("The RandomType SharedVariables", UserWarning),
)


@contextlib.contextmanager
def quietly():
    """Ignore the ``QUIETED`` notices and PyMC's ``Sampling: [...]`` line inside the block; every
    other warning and log line shows as before."""
    forward_sampling = logging.getLogger("pymc.sampling.forward")
    level = forward_sampling.level
    forward_sampling.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message, category in QUIETED:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        forward_sampling.setLevel(level)
