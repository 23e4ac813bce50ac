"""The trend-reversal check on real capability data: Pythia on GSM8K and on LAMBADA.

Pythia's GSM8K pass rates (Schaeffer et al. 2025) do not rise from 2.8B to 12B; LAMBADA
accuracy does. For each, fit the final checkpoints (300B tokens) of the models up to
1.4B and of all models, and print ``fc.trend_reversal`` and whether a
``TrendReversalWarning`` was issued.

    python benchmarks/trend_reversal_pythia.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pass_rate_pythia
import public_ladders as public
import two_step_pythia

import bayes_scaling as bs


def check(title: str, data, **options) -> None:
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = bs.forecast(data, target=1e23, seed=0, progress=False, **options)
    seconds = time.perf_counter() - start
    warned = [w for w in caught if issubclass(w.category, bs.TrendReversalWarning)]
    d = fc.diagnostics
    print(f"\n== {title} ({seconds:.0f} s; divergences {d.divergences}, max r_hat {d.r_hat:.3f})")
    print(fc.trend_reversal.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"TrendReversalWarning: {'yes: ' + str(warned[0].message) if warned else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    args = parser.parse_args()

    counts = pass_rate_pythia.load(args.data)
    final = counts[counts["tokens"] == counts["tokens"].max()]
    small = final[final["params"] <= pass_rate_pythia.FIT_MAX_PARAMS]
    check("GSM8K pass rates, final checkpoints <= 1.4B", small, law="pass_rate")
    check("GSM8K pass rates, all final checkpoints (14M-12B)", final, law="pass_rate")

    lambada = two_step_pythia.load(args.data, "lambada")
    task = two_step_pythia.TASKS["lambada"]
    check("LAMBADA accuracy (two-step), all final checkpoints (70M-12B)", lambada, law="two_step", items=task["items"], floor=task["floor"])


if __name__ == "__main__":
    main()
