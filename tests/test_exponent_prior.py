"""A prior on the exponent b, honoured as the density it implies on the local exponent
(laws/exponent_prior.py): the same posterior as sampling b itself, in coordinates that mix."""

from __future__ import annotations

import numpy as np
import pytest
from pymc_extras.prior import Prior

import bayes_scaling as bs
from bayes_scaling.laws import exponent_prior, loss, whitened_curve

ON_B = Prior("TruncatedNormal", mu=-0.1, sigma=0.1, upper=0)


def test_moved_onto_the_local_exponent_the_prior_on_b_gives_the_same_density(monkeypatch):
    """Sampled in b, the value is log(-b) (PyMC's transform for an upper bound of 0), whose
    log-Jacobian log|b| is what the move to log(local_exponent) at fixed fraction adds: the two
    models' log densities agree at every point."""
    prepared = loss.prepare(bs.example_runs().nsmallest(6, "compute").reset_index(drop=True))
    with monkeypatch.context() as patch:
        patch.setattr(whitened_curve, "applies", lambda priors: False)  # the plain coordinates
        moved = loss.build_model(prepared, {"b": ON_B})
        patch.setattr(exponent_prior, "movable", lambda prior: False)
        in_b = loss.build_model(prepared, {"b": ON_B})
    assert "local_exponent_log__" in [v.name for v in moved.value_vars]
    assert "b_interval__" in [v.name for v in in_b.value_vars]
    moved_logp, in_b_logp = moved.compile_logp(mode="FAST_COMPILE"), in_b.compile_logp(mode="FAST_COMPILE")
    rng = np.random.default_rng(0)
    for _ in range(8):
        shared = {"loss_ref_log__": np.log(rng.uniform(2, 4)), "reducible_fraction_logodds__": rng.normal(),
                  "sigma_log__": np.log(rng.uniform(0.002, 0.05))}
        log_local_exponent = np.log(rng.uniform(0.01, 0.3))
        fraction = 1 / (1 + np.exp(-shared["reducible_fraction_logodds__"]))
        b = -np.exp(log_local_exponent) / fraction
        assert moved_logp({**shared, "local_exponent_log__": log_local_exponent}) == pytest.approx(
            in_b_logp({**shared, "b_interval__": np.log(-b)}), abs=1e-6
        )


def test_only_a_prior_positive_on_every_negative_b_that_leaves_b_free_is_moved():
    assert exponent_prior.movable(ON_B)
    assert exponent_prior.movable(Prior("TruncatedNormal", mu=-0.3, sigma=0.02, upper=0))  # sd of log|b| ~0.067
    assert not exponent_prior.movable(Prior("TruncatedNormal", mu=-0.3, sigma=0.005, upper=0))  # ~0.017: pins b
    assert not exponent_prior.movable(Prior("Uniform", lower=-0.4, upper=-0.01))  # a wall inside b < 0
    assert not exponent_prior.movable(Prior("TruncatedNormal", mu=Prior("Normal", mu=-0.1), sigma=0.1, upper=0))
    assert whitened_curve.applies({"b": ON_B})
    assert not whitened_curve.applies({"b": Prior("Uniform", lower=-0.4, upper=-0.01)})
