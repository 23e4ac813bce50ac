"""The Chinchilla law on Epoch AI's digitised Chinchilla points, next to Epoch's and Hoffmann's fits.

Data: ../shared/data/chinchilla_epoch_svg_extracted.csv (not shipped), less the 5
highest-loss points as Epoch dropped them (240 left); D = C / (6N). Fits the chinchilla
law with default priors and sampler settings (seed 0) and prints

- for the default (normal) likelihood and for ``likelihood="student_t"``: the posterior
  of E, A, B, alpha, beta (median, 95% interval) beside Epoch's refit and
  its 95% CIs, and Hoffmann et al.'s Approach-3 values;
- the compute-optimal tokens per parameter at Chinchilla's budget (5.76e23 FLOPs), and
  the same closed form evaluated at Epoch's and Hoffmann's point estimates;
- PSIS-LOO of the loss law against both chinchilla fits on the same 240 runs.

    python benchmarks/chinchilla_epoch.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_scaling as bs
import public_ladders as public

BUDGET = 5.76e23
EPOCH = {  # estimate, 95% CI (Besiroglu et al. 2024)
    "E": (1.817, 1.769, 1.871),
    "A": (482.0, 285.0, 744.0),
    "B": (2085.0, 1042.0, 5810.0),
    "alpha": (0.348, 0.317, 0.373),
    "beta": (0.366, 0.331, 0.415),
}
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def tokens_per_param(p: dict, budget: float = BUDGET) -> float:
    """D*/N* at ``budget`` for point values of A, B, alpha, beta (the law's closed form)."""
    g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    params = g * (budget / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))
    return budget / 6 / params**2


def fit_and_report(runs: pd.DataFrame, target: pd.DataFrame, likelihood: str):
    """Fit with default priors and settings (seed 0); print the parameter and allocation tables."""
    start = time.perf_counter()
    fc = bs.forecast(runs, target=target, law="chinchilla", likelihood=likelihood, seed=0, progress=False)
    seconds = time.perf_counter() - start
    d = fc.diagnostics
    print(f"chinchilla law on {len(runs)} runs: {seconds:.1f} s, divergences {d.divergences}, "
          f"max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}")

    rows = []
    for name, (estimate, low, high) in EPOCH.items():
        draws = fc.idata.posterior[name].to_numpy().ravel()
        lower, median, upper = np.quantile(draws, [0.025, 0.5, 0.975])
        rows.append(
            {
                "parameter": name,
                "posterior median": median,
                "posterior 95%": f"{lower:.4g}–{upper:.4g}",
                "Epoch": estimate,
                "Epoch 95% CI": f"{low:.4g}–{high:.4g}",
                "overlap": lower <= high and low <= upper,
                "Epoch inside ours": lower <= estimate <= upper,
                "Hoffmann": HOFFMANN[name],
            }
        )
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    sigma = np.median(fc.idata.posterior["sigma"].to_numpy())
    print(f"sigma (relative scatter of one run around the law): median {sigma:.4f}")

    optimal = bs.compute_optimal(fc, BUDGET).set_index("quantity")
    ratio = fc.idata.posterior  # 95% interval of tokens per parameter from the same draws
    alpha, beta, a, b = (ratio[k].to_numpy().ravel() for k in ("alpha", "beta", "A", "B"))
    per_draw = np.array([tokens_per_param({"alpha": x, "beta": y, "A": u, "B": v}) for x, y, u, v in zip(alpha, beta, a, b)])
    lo95, hi95 = np.quantile(per_draw, [0.025, 0.975])
    print(f"\ncompute-optimal allocation at C = {BUDGET:.3g} FLOPs (posterior median, 90% interval):")
    print(optimal[["median", "lower_50", "upper_50", "lower_90", "upper_90"]].to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"tokens per parameter 95% interval: {lo95:.1f}–{hi95:.1f}")
    print(f"same closed form at Epoch's point estimates: {tokens_per_param({k: v[0] for k, v in EPOCH.items()}):.1f}; "
          f"at Hoffmann's Approach-3 values: {tokens_per_param(HOFFMANN):.1f}; Chinchilla itself: 1.4e12/70e9 = 20")
    return fc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    args = parser.parse_args()
    runs = public.chinchilla_points(args.data).drop(columns="compute")
    target = pd.DataFrame({"params": [70e9], "tokens": [1.4e12]})  # Chinchilla itself

    fits = {}
    for likelihood in ("normal", "student_t"):
        print(f"\n=== likelihood={likelihood!r}")
        fits[likelihood] = fit_and_report(runs, target, likelihood)

    loss_fc = bs.forecast(runs.assign(compute=6 * runs["params"] * runs["tokens"]), target=6 * 70e9 * 1.4e12, seed=0, progress=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nPSIS-LOO on the same 240 runs (az.compare, stacking weights):")
        named = {"loss": loss_fc, **{f"chinchilla ({name})": fc for name, fc in fits.items()}}
        print(bs.compare(named).to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
