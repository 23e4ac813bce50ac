"""Does splitting run-to-run noise from evaluation noise give a new run the right interval?

Synthetic ladders (no public table repeats its evaluations): 8 budgets from 1e17 to 1e20 FLOPs,
``--seeds-per-budget`` runs at each, every run evaluated ``--evaluations`` times, on
L = 2 + 3·(C/1e17)^-0.3 with run noise 1% and evaluation noise 0.3% (log scale). Each ladder is
fitted twice:

- **split**: the table as it is (an ``evaluation`` column): one row per run, the noise split in two;
- **naive**: every evaluation as if it were its own run (the ``evaluation`` column dropped and
  the run names made unique), which is what a table without the column says.

At 1e21 FLOPs (10x the largest run) each fit's 90% interval for one new run evaluated once is
scored by the probability that such a run lands inside it (known exactly: the truth's log-normal
with both noises), and the 90% interval of the mean curve by whether it holds the true curve.

    python benchmarks/evaluation_noise.py [--ladders 20] [--evaluations 4] [--seeds-per-budget 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_ladders import SIGMA_EVAL, SIGMA_RUN, evaluated_ladder, evaluated_truth as truth  # noqa: E402

import bayes_scaling as bs  # noqa: E402

TARGET = 1e21


def score(fc) -> dict:
    lower, upper = fc.interval(0.9)
    new_run_sd = np.hypot(SIGMA_RUN, SIGMA_EVAL)
    centre = np.log(truth(TARGET))
    inside = norm.cdf((np.log(upper) - centre) / new_run_sd) - norm.cdf((np.log(lower) - centre) / new_run_sd)
    mean_lower, mean_upper = fc.interval(0.9, kind="mean")
    return {"new_run_coverage": inside, "width": upper - lower, "mean_covered": mean_lower < truth(TARGET) < mean_upper,
            "mean_width": mean_upper - mean_lower, "ok": fc.ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ladders", type=int, default=20)
    parser.add_argument("--evaluations", type=int, default=4)
    parser.add_argument("--seeds-per-budget", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for ladder in range(args.ladders):
        table = evaluated_ladder(ladder, seeds=args.seeds_per_budget, evaluations=args.evaluations)
        naive = table.drop(columns=["evaluation"]).assign(run=lambda t: t["run"] + "/" + t.index.astype(str))
        for fit, data in (("split", table), ("naive", naive)):
            fc = bs.forecast(data, target=[TARGET], seed=ladder, progress=False)
            rows.append({"fit": fit, "ladder": ladder, **score(fc)})
    frame = pd.DataFrame(rows)
    summary = frame.groupby("fit", sort=False).agg(
        fits=("ladder", "size"), new_run_coverage=("new_run_coverage", "mean"), width=("width", "mean"),
        mean_coverage=("mean_covered", "mean"), mean_width=("mean_width", "mean"), healthy=("ok", "mean"),
    )
    print(f"{args.ladders} ladders, {args.seeds_per_budget} runs per budget, {args.evaluations} evaluations per run; "
          f"90% intervals at {TARGET:.0e} FLOPs (stated 0.90)")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
