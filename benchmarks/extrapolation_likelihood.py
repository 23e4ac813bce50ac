"""Cost of the loss law's log density with the extrapolation error: the rotated likelihood against
the multivariate normal it replaced, in one process.

With ``extrapolation_error`` the log losses are one multivariate normal with covariance
``C = σ² I + s² K`` (laws/extrapolation.py). Until 2026-12-07 the model said so with
``pm.MvNormal``: every log density and gradient factorised ``C`` (O(n³)), and on Chinchilla's
136 runs up to 1e20 FLOPs 200 steps per chain did not finish in 15 minutes. ``C`` has ``K``'s
eigenvectors for every ``σ`` and ``s``, so the default now rotates the log losses onto them once,
before sampling, and sums independent normals (O(n²)). This times the model's logp + gradient at
its initial point both ways, the two taking turns (median of 7 rounds), on the example ladder and
on public ladders from 7 to 240 runs, then fits the largest with default settings: a ratio of
the same work on the same machine, so load on the shared machine cancels.

    python benchmarks/extrapolation_likelihood.py [--data ../shared/data] [--no-fit]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from bayes_scaling.inference.jax_setup import configure_jax

configure_jax()  # first: float64 and the host devices a forecast runs with (4), not PyMC's 100
import jax
import pymc as pm
import pytensor.tensor as pt

import bayes_scaling as bs
import public_ladders as public
from interleaved_timing import interleaved_microseconds, log_density_gradient
from bayes_scaling.laws import extrapolation, get_law

CALLS = 100  # per round; 7 rounds (interleaved_timing.py)
ROTATED = extrapolation.observe


def multivariate_normal_observe(log_compute_ratio, log_mean, sigma, log_loss, scale_prior_sd, name: str) -> None:
    """The baseline: the same likelihood as ``pm.MvNormal`` over the runs (a Cholesky factorisation
    of ``C`` in every log density), as the loss law had it before the rotation."""
    u = log_compute_ratio
    n = log_loss.shape[0]
    z = pm.Normal(extrapolation.SCALE + "_z", 0.0, 1.0)
    s = pm.Deterministic(extrapolation.SCALE, scale_prior_sd * pt.abs(z))
    cov = pt.eye(n) * sigma**2 + extrapolation.kernel(u[:, None], u[None, :], xp=pt) * s**2
    pm.MvNormal(name, mu=log_mean, cov=cov, observed=log_loss)
    pm.Deterministic(extrapolation.WEIGHTS, pt.linalg.solve(cov, log_loss - log_mean, assume_a="pos"))


def compiled_gradient(runs, observe):
    """The loss law's logp + gradient with ``extrapolation_error="auto"``, compiled, at its initial
    point, with ``observe`` as the likelihood: (function, arguments, log density there)."""
    law = get_law("loss")
    prepared = law.prepare(law.load(runs), extrapolation_error="auto")
    extrapolation.observe = observe
    try:
        model = law.build_model(prepared, {})
    finally:
        extrapolation.observe = ROTATED
    gradient, values = log_density_gradient(model)
    density = float(gradient(*values)[0])
    return gradient, values, density


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--no-fit", action="store_true", help="time the log densities only")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # densities at the initial point, not fits
    ladders = {"example ladder": bs.example_runs()}
    if args.data.exists():
        config = public.PORIAN_CONFIGS[0]
        ladders[f"porian {config} C<=max/16"] = public.fit_cut(public.porian_compute_optimal(args.data)[config], 16)
        points = public.chinchilla_points(args.data)
        ladders["chinchilla points, C<=1e20"] = points[points["compute"] <= 1e20].reset_index(drop=True)
        ladders["chinchilla points, all"] = points
    print(f"{len(jax.devices())} XLA host devices, as in a forecast")
    for name, runs in ladders.items():
        before, after = compiled_gradient(runs, multivariate_normal_observe), compiled_gradient(runs, ROTATED)
        timed = interleaved_microseconds(calls=CALLS, functions={"before": before[:2], "after": after[:2]})
        print(f"{name:30s} {len(runs):4d} runs  logp+grad {timed['before']:8.0f} -> {timed['after']:6.0f} µs "
              f"({timed['before'] / timed['after']:5.1f}×), log density differs by "
              f"{abs(before[2] - after[2]) / abs(before[2]):.0e}")
    if not args.no_fit and "chinchilla points, C<=1e20" in ladders:
        runs = ladders["chinchilla points, C<=1e20"]
        start = time.perf_counter()
        fc = bs.forecast(runs, target=[1e21, 5.76e23], extrapolation_error="auto", seed=0, progress=False)
        d = fc.diagnostics
        print(f"\nchinchilla points, C<=1e20, extrapolation_error='auto', default settings: {time.perf_counter() - start:.1f} s "
              f"(compilation included), divergences {d.divergences}, r_hat {d.r_hat:.4f}, "
              f"ESS bulk/tail {d.ess_bulk:.0f}/{d.ess_tail:.0f}")


if __name__ == "__main__":
    main()
