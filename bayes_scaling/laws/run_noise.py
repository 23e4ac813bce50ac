"""How one new run scatters around a loss law: its log-density given each posterior draw.

The loss and chinchilla laws give a run's log loss independent noise around the law (normal,
or Student-t with the chinchilla law's ``likelihood="student_t"``) with scale ``sigma``. Planning
a run (``bs.suggest_runs``) weighs each posterior draw by how likely it makes a simulated
outcome, which needs this density outside the PyMC model: it is written once here, for numpy.
Terms free of the parameters (the Jacobian ``-log y``, normalising constants) are left out:
only ratios between draws are used.
"""

from __future__ import annotations

import numpy as np

from bayes_scaling.laws import evaluation_noise, extrapolation


def log_density(posterior, options: dict, mean: np.ndarray, observed: np.ndarray, nu: float | None = None) -> np.ndarray:
    """log p(observed | draw), up to a constant, for a run at one design point.

    ``mean``: the law's mean loss at that point per draw, shape (S,); ``observed``: losses,
    any shape ``O``; ``posterior["sigma"]``: shape (S,). Returns shape ``O + (S,)``.
    ``nu``: Student-t degrees of freedom, or None for normal noise. None when the options
    couple the runs (the extrapolation error): a new run's density then depends on the others.
    """
    if extrapolation.asked_for(options):
        return None
    sigma = evaluation_noise.one_evaluation_sigma(posterior).reshape(-1)
    z = (np.log(np.asarray(observed, dtype=float))[..., None] - np.log(np.asarray(mean, dtype=float).reshape(-1))) / sigma
    if nu is None:
        return -0.5 * z**2 - np.log(sigma)
    return -0.5 * (nu + 1) * np.log1p(z**2 / nu) - np.log(sigma)
