"""The pass-rate law's count likelihood: log BetaBinomial(correct | n, p·φ, (1 − p)·φ) per count,
without the binomial constant, as one PyTensor op that JAX computes, with its derivative.

Why an op: sampling a pass-rate fit is mostly this function and its gradient, thousands of
counts per step. Written as a PyTensor graph, the rewrites PyMC applies before handing it to
JAX made the same arithmetic slower to run than JAX runs it as written (Pythia's training
checkpoints <= 410M, 2,737 counts: 858 -> 592 µs per log density and gradient of the whole model;
benchmarks/pass_rate_likelihood.py). Why its derivative by hand: the density is elementwise in
log λ, so the gradient is one derivative per count, and written out (ψ(x + m) − ψ(x) by the same
series, sharing its divisions and logs) it is cheaper than reverse-mode differentiation of the
series (a chunk of 100 NUTS steps on those checkpoints, four chains on two cores: 3.1 -> 1.4 s) and
more accurate at the ends of the clipped range (reverse mode was 3x off at log λ = -172, τ = 1e-3).
JAX's gradient uses it through a custom JVP; ``pytensor.grad`` through the op's second output,
the same slope. ``perform`` runs the same JAX function, so a graph compiled another way
(``.eval()``, ``pytensor.grad``) gives the same numbers. Its logs are ``vector_log.py``'s,
which XLA vectorises (one log density and slope of 4,105 counts on one thread: 445 -> 375 µs).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

_x64 = jax.config.jax_enable_x64
from pytensor.link.jax.dispatch import jax_funcify  # noqa: E402

# Importing PyTensor's JAX dispatch turns float64 on for every JAX user in the process; put it back
# as it was: sampling.configure_jax turns it on when a forecast samples, not at import.
jax.config.update("jax_enable_x64", _x64)
del _x64

from bayes_scaling.laws.pass_rate.vector_log import log1p_nonnegative, log_positive  # noqa: E402

LOG_LAMBDA_RANGE = (-180.0, np.log(200.0))  # p between e^-200 and 1 - 1e-78: the likelihood is flat beyond
BETA_MIN = 1e-6
STIRLING_FROM = 5.0  # log Γ(x + m) − log Γ(x) by Stirling's series (five terms) from here: error < 4e-11
RISING_SHIFT = 5  # below STIRLING_FROM the series is taken this much higher (x >= BETA_MIN > 0)


def log_rising_and_slope(x, m, small_x: bool = True):
    """log Γ(x + m) − log Γ(x) and its derivative in x, ψ(x + m) − ψ(x), stable for huge x (where
    the two log Γ cancel to the last digit): Stirling's series with log1p, error below 1e-10 for
    x >= STIRLING_FROM (the first omitted terms are 691/(360360·x¹¹) and, for the slope,
    691/(32760·x¹²)). Below it (only where ``small_x``) the series is taken at x + RISING_SHIFT
    and brought back with Γ(x + 1) = x·Γ(x): log Γ(x + m) − log Γ(x) = [the same at x + K] −
    log Π_{j<K} (x + m + j)/(x + j). The products' derivatives come by the product rule, so the
    slope costs one more division, not a digamma."""
    correction = slope_correction = 0.0
    if small_x:
        shifted = x < STIRLING_FROM
        near = jnp.minimum(x, STIRLING_FROM)  # bounded, so the products cannot overflow where unused
        top = bottom = 1.0
        top_slope = bottom_slope = 0.0
        for j in range(RISING_SHIFT):
            top_slope, top = top_slope * (near + m + j) + top, top * (near + m + j)
            bottom_slope, bottom = bottom_slope * (near + j) + bottom, bottom * (near + j)
        correction = jnp.where(shifted, log_positive(top / bottom), 0.0)
        slope_correction = jnp.where(shifted, (top_slope * bottom - top * bottom_slope) / (top * bottom), 0.0)
        x = jnp.where(shifted, x + RISING_SHIFT, x)
    big = jnp.maximum(x, STIRLING_FROM)
    y = big + m
    over_both = 1 / (big * y)  # one division for 1/y, 1/big and m/big
    over_y, over_big = big * over_both, y * over_both
    growth = log1p_nonnegative(m * over_big)  # log(y / big)
    value = (big - 0.5) * growth + m * log_positive(y) - m + _stirling_tail(over_y) - _stirling_tail(over_big) - correction
    slope = growth + 0.5 * m * over_both + _stirling_tail_slope(over_y) - _stirling_tail_slope(over_big) - slope_correction
    return value, slope


def log_rising(x, m, small_x: bool = True):
    """log Γ(x + m) − log Γ(x) alone (see ``log_rising_and_slope``)."""
    return log_rising_and_slope(x, m, small_x)[0]


def _stirling_tail(r):
    """1/(12z) − 1/(360z³) + 1/(1260z⁵) − 1/(1680z⁷) + 1/(1188z⁹) at r = 1/z, Stirling's series
    after its logs (Σ B₂ₖ/(2k(2k − 1)z²ᵏ⁻¹)), in Horner form: five terms let the series start at
    z = 5, so the shift below it multiplies 5 factors, not 10."""
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def _stirling_tail_slope(r):
    """The derivative of ``_stirling_tail`` in z, at r = 1/z: −Σ B₂ₖ/(2k·z²ᵏ), k = 1..5."""
    r2 = r * r
    return -r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 * (1 / 240 - r2 / 132))))


def log_likelihood_and_slope(log_lam, n, correct, cell_noise, small_betas: bool = True):
    """log P(correct | n, p = e^−λ) per count and its derivative in log λ, beta-binomial with
    logit-scale cell noise τ, without the binomial constant. The Beta(p·φ, (1 − p)·φ) around p has
    φ = 1/(τ²·p·(1 − p)) − 1, so logit p of one run's problem varies with sd ≈ τ around the
    law's. ``small_betas``: False where both parameters are at least STIRLING_FROM
    (τ ≤ 1/√STIRLING_FROM), which leaves the shifted branch of ``log_rising_and_slope`` out."""
    lo, hi = LOG_LAMBDA_RANGE
    inside = (log_lam >= lo) & (log_lam <= hi)  # beyond: p is 0 or 1 for any n, and the slope 0
    log_lam = jnp.clip(log_lam, lo, hi)
    lam = jnp.exp(log_lam)
    p, q = jnp.exp(-lam), -jnp.expm1(-lam)  # p and 1 − p, each exact where it is tiny
    over_both = 1 / (p * q)  # 1/p = e^λ <= e^200 and 1/q <= 1/λ ~ e^180: no overflow
    over_q, over_p = p * over_both, q * over_both
    # a = p·φ = 1/(τ²(1 − p)) − p and b = (1 − p)·φ = 1/(τ²·p) − (1 − p)
    inverse = 1 / cell_noise**2
    a_free, b_free = inverse * over_q - p, inverse * over_p - q
    a, b = jnp.maximum(a_free, BETA_MIN), jnp.maximum(b_free, BETA_MIN)
    # their derivatives in log λ, λ·d/dλ, with dp/dλ = −p and dq/dλ = p
    a_slope = jnp.where(a_free > BETA_MIN, lam * p * (1 - inverse * over_q * over_q), 0.0)
    b_slope = jnp.where(b_free > BETA_MIN, lam * (inverse * over_p - p), 0.0)
    passed, passed_slope = log_rising_and_slope(a, correct, small_betas)
    failed, failed_slope = log_rising_and_slope(b, n - correct, small_betas)
    total, total_slope = log_rising_and_slope(a + b, n, small_betas)
    value = passed + failed - total
    slope = passed_slope * a_slope + failed_slope * b_slope - total_slope * (a_slope + b_slope)
    return value, jnp.where(inside, slope, 0.0)


def binomial_log_likelihood_and_slope(log_lam, n, correct, cell_noise=None, small_betas=None):
    """log P(correct | n, p = e^−λ) per count and its derivative in log λ, binomial (no cell noise),
    without the binomial constant: −c·λ + (n − c)·log(1 − e^−λ). One log and two exponentials per
    count instead of three series: ~10 ns a count on a 2-core Zen 3 against ~120 ns
    (benchmarks/pass_rate_likelihood.py). The last two arguments are ignored (one signature for
    both likelihoods)."""
    lo, hi = LOG_LAMBDA_RANGE
    inside = (log_lam >= lo) & (log_lam <= hi)
    log_lam = jnp.clip(log_lam, lo, hi)
    lam = jnp.exp(log_lam)
    q = -jnp.expm1(-lam)  # 1 − p, exact where it is tiny
    value = (n - correct) * log_positive(q) - correct * lam
    slope = lam * ((n - correct) * jnp.exp(-lam) / q - correct)
    return value, jnp.where(inside, slope, 0.0)


def log_likelihood(log_lam, n, correct, cell_noise, small_betas: bool = True, binomial: bool = False):
    """The per-count log-likelihood alone (see ``log_likelihood_and_slope``; ``binomial``: see
    ``binomial_log_likelihood_and_slope``)."""
    return _value_and_slope(binomial)(log_lam, n, correct, cell_noise, small_betas)[0]


def _value_and_slope(binomial: bool):
    return binomial_log_likelihood_and_slope if binomial else log_likelihood_and_slope


@lru_cache(maxsize=None)
def _in_jax(small_betas: bool, binomial: bool = False):
    """The op's outputs as a JAX function whose first output JAX differentiates by the slope:
    reverse mode through the series itself costs about twice as much. Only log λ is differentiated
    (counts and cell noise are data)."""
    both_outputs = _value_and_slope(binomial)

    @jax.custom_jvp
    def value(log_lam, n, correct, cell_noise):
        return both_outputs(log_lam, n, correct, cell_noise, small_betas)[0]

    @value.defjvp
    def value_jvp(primals, tangents):
        value, slope = both_outputs(*primals, small_betas)
        return value, slope * tangents[0]

    def both(log_lam, n, correct, cell_noise):
        return value(log_lam, n, correct, cell_noise), both_outputs(log_lam, n, correct, cell_noise, small_betas)[1]

    return both


@lru_cache(maxsize=None)
def _compiled(small_betas: bool, binomial: bool = False):
    """Compiled, for ``perform`` (graphs compiled outside JAX)."""
    return jax.jit(_in_jax(small_betas, binomial))


class CountLogLikelihood(Op):
    """``log_likelihood_and_slope`` (or, with ``binomial``, ``binomial_log_likelihood_and_slope``)
    as a PyTensor op: inputs log λ, n, correct (one shape) and τ; outputs the per-count
    log-likelihood and its derivative in log λ, which its gradient reuses."""

    __props__ = ("small_betas", "binomial")

    def __init__(self, small_betas: bool = True, binomial: bool = False):
        self.small_betas = bool(small_betas)
        self.binomial = bool(binomial)

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in inputs]
        return Apply(self, inputs, [inputs[0].type(), inputs[0].type()])

    def perform(self, node, inputs, outputs):
        for out, value in zip(outputs, _compiled(self.small_betas, self.binomial)(*inputs)):
            out[0] = np.asarray(value, dtype="float64")

    def L_op(self, inputs, outputs, output_gradients):
        value_gradient, slope_gradient = output_gradients
        if not isinstance(slope_gradient.type, DisconnectedType):
            raise NotImplementedError("the count likelihood's slope output has no gradient (no second derivatives)")
        rest = [grad_not_implemented(self, i, inputs[i], "counts and cell noise are data") for i in (1, 2, 3)]
        return [value_gradient * outputs[1], *rest]


@jax_funcify.register(CountLogLikelihood)
def _count_log_likelihood_in_jax(op, **kwargs):
    return _in_jax(op.small_betas, op.binomial)


def count_log_likelihood(log_lam, n, correct, cell_noise, small_betas: bool = True, binomial: bool = False):
    """The per-count log-likelihood as a PyTensor expression (inputs broadcast to one shape);
    ``binomial``: without cell noise (``cell_noise`` is then not used)."""
    log_lam, n, correct = pt.broadcast_arrays(log_lam, n, correct)
    return CountLogLikelihood(small_betas, binomial)(log_lam, n, correct, cell_noise)[0]
