"""Cost of one log-density gradient of the pass-rate law: the count likelihood as built by default
against the same density computed with log Γ, in one process.

The count likelihood (``laws/pass_rate.py``, ``_count_log_likelihood``) needs log Γ(x + m) − log Γ(x)
of the beta-binomial's parameters. ``_log_rising`` computes it with Stirling's series, shifted by
the recurrence where a parameter can fall below ``STIRLING_FROM`` (the cell noise decides:
``_small_betas``). The baseline is the log Γ branch every fit had before 0ae3751: the series
where x >= STIRLING_FROM and ``gammaln`` below, both branches evaluated for every count. This times the
model's logp + gradient at its initial point both ways on the battery's pass-rate tables: a ratio
of the same work on the same machine, so load on the shared machine cancels. A fit's sampling time
is this cost times its gradient evaluations.

    python benchmarks/pass_rate_likelihood.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import pytensor.tensor as pt
from pymc.sampling.jax import get_jaxified_graph

import public_ladders as public
from bayes_scaling.datasets import make_example_pass_counts
from bayes_scaling.laws import get_law
from bayes_scaling.laws import pass_rate

REPEATS, CALLS = 5, 200
DEFAULT_FLAG, DEFAULT_RISING = pass_rate._small_betas, pass_rate._log_rising


def log_rising_with_log_gamma(x, m, small_x: bool = True):
    """The baseline: Stirling's series above STIRLING_FROM, log Γ below, both always evaluated."""
    small = pt.minimum(x, pass_rate.STIRLING_FROM)
    series = DEFAULT_RISING(x, m, small_x=False)
    return pt.switch(x >= pass_rate.STIRLING_FROM, series, pt.gammaln(small + m) - pt.gammaln(small))


def gradient_microseconds(data, baseline: bool) -> tuple[float, dict, int]:
    """Best of REPEATS of the mean time of one logp + gradient call (µs), the options, the counts."""
    law = get_law("pass_rate")
    table, per_problem, options = law.prepare(law.load(data))
    if baseline:
        pass_rate._small_betas, pass_rate._log_rising = (lambda options: True), log_rising_with_log_gamma
    try:
        model = law.build_model(table, per_problem, options, {})
    finally:
        pass_rate._small_betas, pass_rate._log_rising = DEFAULT_FLAG, DEFAULT_RISING
    logp = get_jaxified_graph(inputs=model.value_vars, outputs=[model.logp()])
    point = model.initial_point()
    values = [jnp.asarray(point[v.name]) for v in model.value_vars]
    gradient = jax.jit(jax.value_and_grad(lambda *v: logp(*v)[0], argnums=tuple(range(len(values)))))
    jax.block_until_ready(gradient(*values))
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(CALLS):
            out = gradient(*values)
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - start) / CALLS)
    return best * 1e6, options, len(table)


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
    for name, data in cases.items():
        before, options, rows = gradient_microseconds(data, baseline=True)
        after, _, _ = gradient_microseconds(data, baseline=False)
        print(f"{name:34s} {rows:5d} counts, cell noise {options['cell_noise']:.3f}, "
              f"shifted branch needed: {pass_rate._small_betas(options)!s:5s}  "
              f"logp+grad {before:6.0f} -> {after:6.0f} µs ({before / after:.2f}×)")


if __name__ == "__main__":
    main()
