"""The count likelihood's own float64 log and log1p: as accurate as the C library's, and JAX can
differentiate them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayes_scaling.laws.pass_rate.vector_log import log1p_nonnegative, log_positive

jax.config.update("jax_enable_x64", True)


def ulps(got, exact):
    return np.abs(np.asarray(got) - exact) / np.spacing(np.abs(exact))


def test_log_is_within_three_ulps_over_the_whole_normal_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.exp(rng.uniform(-708, 709, 200_000)),
        1 + rng.uniform(-0.3, 0.5, 100_000),  # near 1, where the result is small
        [np.finfo(float).tiny, np.finfo(float).max, 1.0, 2.0, 0.5, np.sqrt(2.0), np.sqrt(0.5), 1e-6, 1e78],
    ])
    exact = np.log(x)
    ones = exact == 0
    assert np.all(np.asarray(log_positive(x))[ones] == 0.0)
    assert ulps(log_positive(x), exact)[~ones].max() <= 3


@pytest.mark.parametrize("low, high", [(-300, -20), (-20, 0), (0, 3), (3, 700)])
def test_log1p_is_within_three_ulps_and_exact_for_tiny_arguments(low, high):
    t = np.exp(np.random.default_rng(1).uniform(low, high, 100_000))
    assert ulps(log1p_nonnegative(t), np.log1p(t)).max() <= 3
    boundary = np.nextafter(np.sqrt(2.0) - 1.0, [0.0, 1.0])  # both sides of the switch between the two forms
    assert ulps(log1p_nonnegative(boundary), np.log1p(boundary)).max() <= 3
    assert float(log1p_nonnegative(0.0)) == 0.0
    assert float(log1p_nonnegative(1e-300)) == 1e-300


def test_their_derivatives_are_the_logs_derivatives():
    x = jnp.array([1e-6, 0.3, 1.0, 7.5, 1e10])
    np.testing.assert_allclose(jax.grad(lambda v: log_positive(v).sum())(x), 1 / x, rtol=1e-15)
    np.testing.assert_allclose(jax.grad(lambda v: log1p_nonnegative(v).sum())(x), 1 / (1 + x), rtol=1e-15)
    under_jit = jax.jit(jax.vmap(jax.grad(log_positive)))(x)  # the custom JVP survives jit and vmap
    np.testing.assert_allclose(under_jit, 1 / x, rtol=1e-15)
