"""Cost of one log-density gradient of the pass-rate law: the count likelihood as built by default
against the same density written as a PyTensor graph, in one process.

The count likelihood (``laws/pass_rate/count_likelihood.py``) needs log Γ(x + m) − log Γ(x) of the
beta-binomial's parameters: Stirling's series, shifted by the recurrence where a parameter can
fall below ``STIRLING_FROM`` (the cell noise decides: ``pass_rate.preparing._small_betas``). By default it is
one PyTensor op that JAX computes as written, its derivative in log λ written out beside it. The
baseline is the likelihood as it was before that op: the series as a PyTensor graph (three terms,
with the module's STIRLING_FROM and RISING_SHIFT), its tail written with powers (1/y**3, 1/y**5),
which PyMC's rewrites hand to JAX and JAX differentiates in reverse mode. A middle column is the
default op with XLA's own float64 ``log`` and ``log1p`` (one element at a time through the C
library on the CPU) instead of ``laws/pass_rate/vector_log.py``'s. This times the model's logp + gradient at
its initial point each way, the variants taking turns (median of 7 rounds) on the battery's pass-rate tables: a ratio of the same work on the same machine, so load on
the shared machine cancels. A fit's sampling time is this cost times its gradient evaluations.
Counts without cell noise (``pass_rate.preparing._binomial``: the synthetic tables) use the binomial, op and
graph alike.

    python benchmarks/pass_rate_likelihood.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from pathlib import Path

from bayes_scaling.inference.jax_setup import configure_jax

configure_jax()  # first: float64 and the host devices a forecast runs with (4), not PyMC's 100
import jax
import jax.numpy as jnp
import pytensor.tensor as pt

import public_ladders as public
from interleaved_timing import interleaved_microseconds, log_density_gradient
from bayes_scaling.datasets import make_example_pass_counts
from bayes_scaling.laws.pass_rate import count_likelihood as cl
from bayes_scaling.laws import get_law
from bayes_scaling.laws.pass_rate import model as pass_rate_model
from bayes_scaling.laws.pass_rate import preparing, soft_buckets

CALLS = 200  # per round; 7 rounds (interleaved_timing.py)
DEFAULT = pass_rate_model.count_log_likelihood
USERS = (pass_rate_model, soft_buckets)  # the modules whose count_log_likelihood the graph variant replaces


def _graph_log_rising(x, m, small_x: bool = True):
    """The baseline's log Γ(x + m) − log Γ(x), as a PyTensor graph (see the module)."""
    correction = 0.0
    if small_x:
        shifted = x < cl.STIRLING_FROM
        near = pt.minimum(x, cl.STIRLING_FROM)
        numerator = denominator = 1.0
        for j in range(cl.RISING_SHIFT):
            numerator, denominator = numerator * (near + m + j), denominator * (near + j)
        correction = pt.switch(shifted, pt.log(numerator / denominator), 0.0)
        x = pt.switch(shifted, x + cl.RISING_SHIFT, x)
    big = pt.maximum(x, cl.STIRLING_FROM)
    y = big + m
    return (
        (big - 0.5) * pt.log1p(m / big) + m * pt.log(y) - m
        + (1 / y - 1 / big) / 12 - (1 / y**3 - 1 / big**3) / 360 + (1 / y**5 - 1 / big**5) / 1260
        - correction
    )


def graph_count_log_likelihood(log_lam, n, correct, cell_noise, small_betas: bool = True, binomial: bool = False):
    """The baseline: ``count_likelihood.log_likelihood``'s arithmetic as a PyTensor graph (with
    ``binomial``, counts without cell noise, the binomial's)."""
    log_lam = pt.clip(log_lam, *cl.LOG_LAMBDA_RANGE)
    lam = pt.exp(log_lam)
    p, q = pt.exp(-lam), -pt.expm1(-lam)
    if binomial:
        return (n - correct) * pt.log(q) - correct * lam
    inverse = 1 / cell_noise**2
    a = pt.maximum(inverse / q - p, cl.BETA_MIN)
    b = pt.maximum(inverse * pt.exp(lam) - q, cl.BETA_MIN)
    return (
        _graph_log_rising(a, correct, small_betas) + _graph_log_rising(b, n - correct, small_betas)
        - _graph_log_rising(a + b, n, small_betas)
    )


@contextlib.contextmanager
def xla_logs():
    """The count likelihood with XLA's own float64 log and log1p, while inside."""
    fast = cl.log_positive, cl.log1p_nonnegative
    cl.log_positive, cl.log1p_nonnegative = jnp.log, jnp.log1p
    cl._in_jax.cache_clear()
    try:
        yield
    finally:
        cl.log_positive, cl.log1p_nonnegative = fast
        cl._in_jax.cache_clear()


def compiled_gradient(data, variant: str):
    """The model's logp + gradient, compiled, at its initial point: (function, its arguments, the
    options, the counts); ``variant`` is "graph" (the baseline), "xla logs" or "default"."""
    law = get_law("pass_rate")
    prepared = law.prepare(law.load(data))
    if variant == "graph":
        for module in USERS:
            module.count_log_likelihood = graph_count_log_likelihood
    try:
        model = law.build_model(prepared, {})
    finally:
        for module in USERS:
            module.count_log_likelihood = DEFAULT
    with xla_logs() if variant == "xla logs" else contextlib.nullcontext():
        gradient, values = log_density_gradient(model)  # traced inside the context
    return gradient, values, prepared.options, len(prepared.table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the fits are not run here: only their densities
    cases = {f"example pass counts seed {seed}": make_example_pass_counts(seed)[0] for seed in (0, 1)}
    if args.data.exists():
        counts = public.pythia_gsm8k(args.data)
        for checkpoints in (False, True):
            for max_params, label in ((4.1e8, "410M"), (1.4e9, "1.4B")):
                what = "checkpoints" if checkpoints else "final"
                cases[f"pythia gsm8k {what} <= {label}"] = public.pythia_gsm8k_fit(counts, max_params, checkpoints)
    print(f"{len(jax.devices())} XLA host devices, as in a forecast")
    for name, data in cases.items():
        built = {variant: compiled_gradient(data, variant) for variant in ("graph", "xla logs", "default")}
        options, rows = built["default"][2], built["default"][3]
        density, same = (float(built[v][0](*built[v][1])[0]) for v in ("graph", "default"))
        timed = interleaved_microseconds(calls=CALLS, functions={variant: built[variant][:2] for variant in built})
        before, libm, after = timed["graph"], timed["xla logs"], timed["default"]
        print(f"{name:34s} {rows:5d} counts, cell noise {options['cell_noise']:.3f}, "
              f"{'binomial' if preparing._binomial(options) else 'shifted branch' if preparing._small_betas(options) else 'series only':14s} "
              f"logp+grad {before:6.0f} -> {libm:6.0f} (XLA's logs) -> {after:6.0f} µs "
              f"({before / after:.2f}× the graph, {libm / after:.2f}× XLA's logs), "
              f"log density differs by {abs(same - density) / abs(density):.0e}")


if __name__ == "__main__":
    main()
