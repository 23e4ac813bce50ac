"""Pass-rate forecasts on real per-problem counts: Pythia on GSM8K (Schaeffer et al. 2025).

Data: ../shared/data/pythia_gsm8k_per_problem_schaeffer2025.csv (not shipped). Compute =
6 · Parameters · Tokens. Two settings:

- final checkpoints (300B tokens): fit Pythia <= 1.4B, forecast 2.8B, 6.9B and 12B;
- all checkpoints of the models <= 1.4B (compute varies with tokens too), same targets.

For every bucket (assigned from the fitting data only) and over all kept problems, the
measured mean pass rate and −E[log pass rate] of the held-out models are set against the
90% interval; GPT-4's point method (which must drop every problem some fitted model never
solved) is shown beside it for −E[log pass rate].

    python benchmarks/pass_rate_pythia.py [--data ../shared/data] [--buckets 6 --exclude-hardest 15]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_scaling as bs
import public_ladders as public
from bayes_scaling.buckets import observed_bucket_rates

FIT_MAX_PARAMS = 1.4e9


def load(data_dir: Path) -> pd.DataFrame:
    return public.pythia_gsm8k(data_dir)


def score(fit: pd.DataFrame, test: pd.DataFrame, buckets: int, exclude_hardest: int, seed: int) -> pd.DataFrame:
    targets = np.sort(test["compute"].unique())
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = bs.forecast(
            fit, target=targets, law="pass_rate", buckets=buckets, exclude_hardest=exclude_hardest, seed=seed, progress=False
        )
    seconds = time.perf_counter() - start
    point = bs.point_forecast(fit, target=targets, buckets=buckets, exclude_hardest=exclude_hardest)
    actual = observed_bucket_rates(test, point.buckets)
    # exact −E[log p] needs p > 0: only where every kept problem was solved at least once
    cells = test.merge(point.buckets[["problem", "bucket"]], on="problem")
    cells = cells[cells["bucket"].notna()]
    rows = []
    for label in fc.bucket_labels:
        members = cells if label == "all" else cells[cells["bucket"].astype(str) == label]
        for compute in targets:
            here = members[members["compute"] == compute]
            measured = actual[(actual["compute"] == compute) & (actual["bucket"] == label)]["pass_rate"].iloc[0]
            rate = here["correct"] / here["n"]
            neg_log = float(-np.log(rate).mean()) if (rate > 0).all() else np.nan
            lo, hi = (float(np.atleast_1d(v)[list(targets).index(compute)]) for v in fc.interval(0.9, quantity="pass_rate", bucket=label))
            nlo, nhi = (float(np.atleast_1d(v)[list(targets).index(compute)]) for v in fc.interval(0.9, quantity="neg_log_pass_rate", bucket=label))
            med = float(np.median(fc.draws(quantity="pass_rate", bucket=label)[:, list(targets).index(compute)]))
            pt = point.frame[(point.frame["bucket"] == label) & np.isclose(point.frame["compute"], compute)]["value"].iloc[0]
            rows.append(
                {
                    "bucket": label,
                    "target": compute,
                    "pass_rate": measured,
                    "median": med,
                    "lo90": lo,
                    "hi90": hi,
                    "covered": lo <= measured <= hi,
                    "err_pp": 100 * (med - measured),
                    "neglog": neg_log,
                    "neglog_lo90": nlo,
                    "neglog_hi90": nhi,
                    "point_neglog": pt,
                }
            )
    result = pd.DataFrame(rows)
    d = fc.diagnostics
    result.attrs.update(
        seconds=seconds, dropped=point.dropped, diagnostics=d, options=fc.settings["options"],
        sampler_warnings=sum(issubclass(w.category, bs.SamplerWarning) for w in caught),
    )
    return result


def report(title: str, result: pd.DataFrame) -> None:
    print(f"\n== {title}")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(result.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    d = result.attrs["diagnostics"]
    print(
        f"90% coverage of the mean pass rate: {result['covered'].mean():.0%} ({int(result['covered'].sum())}/{len(result)}); "
        f"median |error| {result['err_pp'].abs().median():.2f} pp; fit {result.attrs['seconds']:.0f} s; "
        f"divergences {d.divergences}, max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}; "
        f"point method dropped {result.attrs['dropped']} problems"
    )
    options = result.attrs["options"]
    print(
        f"soft buckets: {options['soft_buckets']} (expected misplaced {options['expected_misplaced']:.2f}); "
        f"run shifts: {options['run_shifts']} (dispersion {options.get('run_dispersion', float('nan')):.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--buckets", type=int, default=6)
    parser.add_argument("--exclude-hardest", type=int, default=15)
    parser.add_argument("--checkpoints", action="store_true", help="also fit over all training checkpoints")
    args = parser.parse_args()
    counts = load(args.data)
    final = counts[counts["tokens"] == counts["tokens"].max()]
    fit, test = public.pythia_gsm8k_fit(counts, FIT_MAX_PARAMS, checkpoints=False), final[final["params"] > FIT_MAX_PARAMS]
    report("final checkpoints: fit <= 1.4B, forecast 2.8B, 6.9B, 12B", score(fit, test, args.buckets, args.exclude_hardest, 0))
    if args.checkpoints:
        fit_all = public.pythia_gsm8k_fit(counts, FIT_MAX_PARAMS, checkpoints=True)
        report("all checkpoints >= 2B tokens of models <= 1.4B, same targets", score(fit_all, test, args.buckets, args.exclude_hardest, 0))


if __name__ == "__main__":
    main()
