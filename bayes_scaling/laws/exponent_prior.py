"""A user's prior on the exponent ``b``, honoured in the coordinates the loss law samples well.

The loss law samples ``(loss_ref, reducible_fraction, local_exponent)`` and derives
``b = -local_exponent / reducible_fraction``: the data pin the local exponent, so a short
ladder leaves a near-Gaussian posterior there. Sampled in ``b`` itself, the same posterior
bends along the hyperbola ``b · fraction = const`` and mixes slowly (the example ladder's six
smallest runs with ``TruncatedNormal(-0.1, 0.1, upper=0)`` on ``b``: tail ESS 182 of 4000
draws, a failed forecast, against 1,890 with the default priors; with that prior, 10 of the 17
real loss-law cases of benchmarks/sampler_health.py failed, and none does moved).

So a prior density ``p_b`` on ``b`` is moved onto the local exponent exactly: for each fraction
``f``, ``local_exponent`` gets the density the prior implies, ``p_b(-local_exponent / f) / f``
(the change of variables ``b -> local_exponent`` at fixed ``f``). Two kinds of prior stay in
``b`` itself:

- one that is zero somewhere in ``b < 0`` (a ``Uniform``), which would put a wall inside the
  sampled coordinates; and one with its own transform or with priors inside it;
- one that pins ``b`` to within ``PINNED_SPREAD`` (the sd of ``log|b|``): then ``b`` is the
  coordinate the posterior is narrow in, and moved it becomes a thin curved ridge. Measured on
  ``TruncatedNormal`` priors (mu -0.3 and -0.15, sd 0.005-0.1) on four ladders (the example
  ladder's 4, 6 and 9 runs, the CPU ladder's 5 rungs), seed 0, the smaller of bulk and tail ESS
  per 4,000 draws: moved 1,196-2,228 for every prior wider than 5% (in ``b``: 229-1,860, four
  fits failing), and 374-2,055 for those of sd 0.005 (in ``b``: 895-1,930).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc_extras.prior import Prior

# log|b| from 1e-9 to 1e3: every exponent a loss curve has (|b| ~ 0.03-0.5), with many decades to
# spare, at steps fine enough to measure a spread of 0.005
LOG_MAGNITUDES = np.linspace(np.log(1e-9), np.log(1e3), 6001)
PINNED_SPREAD = 0.05  # sd of log|b| below which the prior pins b (5% of its value)


def movable(prior: Prior) -> bool:
    """Whether ``prior`` on ``b`` is honoured as a density on the local exponent (see above)."""
    if prior.transform is not None or any(isinstance(value, Prior) for value in prior.parameters.values()):
        return False
    density = pm.logp(prior.pymc_distribution.dist(**prior.parameters), -np.exp(LOG_MAGNITUDES))
    log_density = pytensor.function([], density, mode="FAST_COMPILE")()  # a vector of numbers: no C compile
    if not np.all(np.isfinite(log_density)):
        return False
    weights = np.exp(log_density + LOG_MAGNITUDES - np.max(log_density + LOG_MAGNITUDES))  # density of log|b|
    weights /= weights.sum()
    mean = np.sum(weights * LOG_MAGNITUDES)
    return bool(np.sqrt(np.sum(weights * (LOG_MAGNITUDES - mean) ** 2)) >= PINNED_SPREAD)


def log_density(prior: Prior, local_exponent, fraction):
    """Log-density of ``local_exponent`` given ``fraction`` that the prior on ``b`` implies."""
    b = -local_exponent / fraction
    return pm.logp(prior.pymc_distribution.dist(**prior.parameters), b) - pt.log(fraction)
