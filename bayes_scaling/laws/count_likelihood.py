"""The pass-rate law's count likelihood: log BetaBinomial(correct | n, p·φ, (1 − p)·φ) per count,
without the binomial constant, as one PyTensor op that JAX computes.

Why an op: sampling a pass-rate fit is mostly this function and its gradient, thousands of
counts per step. Written as a PyTensor graph, the rewrites PyMC applies before handing it to
JAX made the same arithmetic slower to run than JAX runs it as written (Pythia's training
checkpoints <= 410M, 2,737 counts: 858 -> 592 µs per log density and gradient of the whole model;
benchmarks/pass_rate_likelihood.py). The arithmetic is written once, in ``jax.numpy``: JAX
differentiates it on the sampler's path, and the op's ``perform`` and gradient op run the same
function, so a graph compiled another way (``.eval()``, ``pytensor.grad``) gives the same numbers.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import grad_not_implemented
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.jax.dispatch import jax_funcify

LOG_LAMBDA_RANGE = (-180.0, np.log(200.0))  # p between e^-200 and 1 - 1e-78: the likelihood is flat beyond
BETA_MIN = 1e-6
STIRLING_FROM = 10.0  # log Γ(x + m) − log Γ(x) by Stirling's series from here (error < 1e-8)
RISING_SHIFT = 10  # below STIRLING_FROM the series is taken this much higher (x >= BETA_MIN > 0)


def log_rising(x, m, small_x: bool = True):
    """log Γ(x + m) − log Γ(x), stable for huge x (where the two log Γ cancel to the last digit):
    Stirling's series with log1p, error below 1e-8 for x >= STIRLING_FROM. Below it (only where
    ``small_x``) the series is taken at x + RISING_SHIFT and brought back with Γ(x + 1) = x·Γ(x):
    log Γ(x + m) − log Γ(x) = [the same at x + K] − log Π_{j<K} (x + m + j)/(x + j). Products
    and one log instead of log Γ and digamma twice."""
    correction = 0.0
    if small_x:
        shifted = x < STIRLING_FROM
        near = jnp.minimum(x, STIRLING_FROM)  # bounded, so the products cannot overflow where unused
        numerator = denominator = 1.0
        for j in range(RISING_SHIFT):
            numerator, denominator = numerator * (near + m + j), denominator * (near + j)
        correction = jnp.where(shifted, jnp.log(numerator / denominator), 0.0)
        x = jnp.where(shifted, x + RISING_SHIFT, x)
    big = jnp.maximum(x, STIRLING_FROM)
    y = big + m
    return (big - 0.5) * jnp.log1p(m / big) + m * jnp.log(y) - m + _stirling_tail(y) - _stirling_tail(big) - correction


def _stirling_tail(z):
    """1/(12z) − 1/(360z³) + 1/(1260z⁵), Stirling's series after its logs, in Horner form (one division)."""
    r = 1 / z
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 / 1260))


def log_likelihood(log_lam, n, correct, cell_noise, small_betas: bool = True):
    """log P(correct | n, p = e^−λ) per count, beta-binomial with logit-scale cell noise τ, without
    the binomial constant. The Beta(p·φ, (1 − p)·φ) around p has φ = 1/(τ²·p·(1 − p)) − 1, so
    logit p of one run's problem varies with sd ≈ τ around the law's. ``small_betas``: False
    where both parameters are at least STIRLING_FROM (τ ≤ 1/√STIRLING_FROM), which leaves the
    shifted branch of ``log_rising`` out."""
    log_lam = jnp.clip(log_lam, LOG_LAMBDA_RANGE[0], LOG_LAMBDA_RANGE[1])  # beyond: p is 0 or 1 for any n
    lam = jnp.exp(log_lam)
    p, q = jnp.exp(-lam), -jnp.expm1(-lam)  # p and 1 − p, each exact where it is tiny
    # a = p·φ = 1/(τ²(1 − p)) − p and b = (1 − p)·φ = 1/(τ²·p) − (1 − p); 1/p = e^λ ≤ e^200
    inverse = 1 / cell_noise**2
    a = jnp.maximum(inverse / q - p, BETA_MIN)
    b = jnp.maximum(inverse * jnp.exp(lam) - q, BETA_MIN)
    return (
        log_rising(a, correct, small_betas) + log_rising(b, n - correct, small_betas)
        - log_rising(a + b, n, small_betas)
    )


def _value(small_betas: bool):
    def value(log_lam, n, correct, cell_noise):
        return log_likelihood(log_lam, n, correct, cell_noise, small_betas)

    return value


def _pullback(small_betas: bool):
    """The vector-Jacobian product in log λ: what the gradient op computes."""
    value = _value(small_betas)

    def pullback(log_lam, n, correct, cell_noise, output_gradient):
        return jax.vjp(lambda x: value(x, n, correct, cell_noise), log_lam)[1](output_gradient)[0]

    return pullback


@lru_cache(maxsize=None)
def _compiled(small_betas: bool):
    """Both, compiled, for ``perform`` (graphs compiled outside JAX)."""
    return jax.jit(_value(small_betas)), jax.jit(_pullback(small_betas))


class _CountOp(Op):
    """What both ops share: the branch flag, and float64 inputs with the first input's type out."""

    __props__ = ("small_betas",)

    def __init__(self, small_betas: bool = True):
        self.small_betas = bool(small_betas)

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in inputs]
        return Apply(self, inputs, [inputs[0].type()])


class CountLogLikelihood(_CountOp):
    """``log_likelihood`` per count as a PyTensor op: inputs log λ, n, correct (one shape) and τ."""

    def perform(self, node, inputs, outputs):
        outputs[0][0] = np.asarray(_compiled(self.small_betas)[0](*inputs), dtype="float64")

    def L_op(self, inputs, outputs, output_gradients):
        rest = [grad_not_implemented(self, i, inputs[i], "counts and cell noise are data") for i in (1, 2, 3)]
        return [CountLogLikelihoodGradient(self.small_betas)(*inputs, output_gradients[0]), *rest]


class CountLogLikelihoodGradient(_CountOp):
    """The gradient of ``CountLogLikelihood`` in log λ, times the output's gradient: inputs as
    ``CountLogLikelihood``'s, then that gradient."""

    def perform(self, node, inputs, outputs):
        outputs[0][0] = np.asarray(_compiled(self.small_betas)[1](*inputs), dtype="float64")


@jax_funcify.register(CountLogLikelihood)
def _count_log_likelihood_in_jax(op, **kwargs):
    return _value(op.small_betas)


@jax_funcify.register(CountLogLikelihoodGradient)
def _count_log_likelihood_gradient_in_jax(op, **kwargs):
    return _pullback(op.small_betas)


def count_log_likelihood(log_lam, n, correct, cell_noise, small_betas: bool = True):
    """The per-count log-likelihood as a PyTensor expression (inputs broadcast to one shape)."""
    log_lam, n, correct = pt.broadcast_arrays(log_lam, n, correct)
    return CountLogLikelihood(small_betas)(log_lam, n, correct, cell_noise)
