"""Compute-optimal allocation on Chinchilla's points: 6·N·D against Kaplan et al.'s attention-aware count.

Data: ../shared/data/chinchilla_epoch_svg_extracted.csv (not shipped), less the 5 highest-loss
points as Epoch dropped them (240 left); D = C / (6N). Fits the chinchilla law with default priors
and sampler settings (seed 0; both likelihoods with ``--student-t``) and prints N*, D* and tokens
per parameter at a budget (default 1e24 FLOPs) under

- ``cost=None``: C = 6·N·D, in closed form;
- ``bs.transformer_cost(context_length=...)``: C = 6·N·D + 6·n_layer·n_ctx·d_model·D (Kaplan et al.
  2020, eq. 2.2), d_model/n_layer = 128, at contexts 2048 and 8192 by default;

with the time each takes over every posterior draw. Caveat: the fit's tokens were derived as
C/(6N), so the law itself was fitted in 6·N·D's accounting; only the budget line changes here.

    python benchmarks/allocation_cost.py [--data ../shared/data] [--budget 1e24] [--context 2048 8192]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_scaling as bs
import public_ladders as public
from bayes_scaling.cost_models import transformer_cost

TARGET = pd.DataFrame({"params": [70e9], "tokens": [1.4e12]})


def row(frame: pd.DataFrame, quantity: str) -> str:
    r = frame[frame["quantity"] == quantity].iloc[0]
    scale, unit = {"params": (1e9, "B"), "tokens": (1e12, "T"), "tokens_per_param": (1.0, "")}[quantity]
    return f"{r['median'] / scale:.4g}{unit} ({r['lower_90'] / scale:.4g}-{r['upper_90'] / scale:.4g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--budget", type=float, default=1e24)
    parser.add_argument("--context", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--student-t", action="store_true", help="also fit with likelihood='student_t'")
    args = parser.parse_args()
    runs = public.chinchilla_points(args.data)
    for likelihood in ["normal"] + (["student_t"] if args.student_t else []):
        start = time.perf_counter()
        fc = bs.forecast(runs, target=TARGET, law="chinchilla", likelihood=likelihood, seed=0, progress=False)
        d = fc.diagnostics
        beta = np.quantile(fc.idata.posterior["beta"].to_numpy(), [0.05, 0.5, 0.95])
        print(f"\n{likelihood} likelihood, {len(runs)} runs: fit {time.perf_counter() - start:.1f} s, divergences "
              f"{d.divergences}, max r_hat {d.r_hat:.3f}; beta median {beta[1]:.3f} (90% {beta[0]:.3f}-{beta[2]:.3f})")
        print(f"budget {args.budget:.3g} FLOPs, median (90% interval) over {fc.idata.posterior.sizes['draw'] * fc.idata.posterior.sizes['chain']} draws")
        print(f"{'cost model':<28} {'N*':>22} {'D*':>22} {'D*/N*':>20} {'time':>7}")
        costs = [("6·N·D (closed form)", None)] + [(f"attention, context {c}", transformer_cost(context_length=c)) for c in args.context]
        base = None
        for label, cost in costs:
            start = time.perf_counter()
            frame = bs.compute_optimal(fc, args.budget, cost=cost)
            seconds = time.perf_counter() - start
            print(f"{label:<28} {row(frame, 'params'):>22} {row(frame, 'tokens'):>22} "
                  f"{row(frame, 'tokens_per_param'):>20} {seconds * 1e3:5.0f}ms")
            medians = frame.set_index("quantity")["median"]
            if base is None:
                base = medians
            else:
                change = (medians / base - 1) * 100
                print(f"{'  vs 6·N·D (medians)':<28} {change['params']:>+21.2f}% {change['tokens']:>+21.2f}% "
                      f"{change['tokens_per_param']:>+19.2f}%")


if __name__ == "__main__":
    main()
