"""Cost of one log-density gradient of the pass-rate law, with and without the exact log Γ branch.

The count likelihood (``laws/pass_rate.py``, ``_count_log_likelihood``) needs log Γ only where a
beta-binomial parameter can fall below ``STIRLING_FROM``, which the cell noise decides
(``_small_betas``). This times, in one process, the model's logp + gradient at its initial point
with that branch forced on (as every fit had it before) and as the default builds it, on the
battery's pass-rate tables: a ratio of the same work on the same machine, so load on the shared
machine cancels. A fit's sampling time is this cost times its gradient evaluations.

    python benchmarks/pass_rate_likelihood.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
from pymc.sampling.jax import get_jaxified_graph

import public_ladders as public
from bayes_scaling.datasets import make_example_pass_counts
from bayes_scaling.laws import get_law
from bayes_scaling.laws import pass_rate

REPEATS, CALLS = 5, 200


def gradient_microseconds(data, exact_branch: bool) -> tuple[float, dict, int]:
    """Best of REPEATS of the mean time of one logp + gradient call (µs), the options, the counts."""
    law = get_law("pass_rate")
    table, per_problem, options = law.prepare(law.load(data))
    default = pass_rate._small_betas
    if exact_branch:
        pass_rate._small_betas = lambda options: True
    try:
        model = law.build_model(table, per_problem, options, {})
    finally:
        pass_rate._small_betas = default
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
        before, options, rows = gradient_microseconds(data, exact_branch=True)
        after, _, _ = gradient_microseconds(data, exact_branch=False)
        print(f"{name:34s} {rows:5d} counts, cell noise {options['cell_noise']:.3f}, "
              f"exact branch needed: {pass_rate._small_betas(options)!s:5s}  "
              f"logp+grad {before:6.0f} -> {after:6.0f} µs ({before / after:.2f}×)")


if __name__ == "__main__":
    main()
