"""Recovery of known pass-rate laws: do the per-bucket 90% intervals cover the truth?

Target (issue 3): 164 problems × 7 compute levels (1e17-1e20) × n = 200 samples, known
α_i and k_g (``make_example_pass_counts``); forecast at 1e22, 100× beyond the largest
model; per-bucket 90% intervals of the mean pass rate cover the truth in ≥ 85% of 30 seeds.

The truth of a bucket is the mean true pass rate at the target of the problems the fit
put in that bucket (buckets come from the noisy counts), each with its own true α_i and
k: the same average the forecast reports. The generator has no run-to-run noise, so the
intervals compared are those of the trend (``kind="mean"``). Slow: one fit per seed.

    python benchmarks/pass_rate_recovery.py [--seeds 30] [--first 0] [--problem-k] [--hard-buckets]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import bayes_scaling as bs
from bayes_scaling.datasets import make_example_pass_counts, true_pass_rates

TARGET = 1e22
QUANTITIES = ("pass_rate", "neg_log_pass_rate")


def one_seed(seed: int, problem_k: bool = False, soft_buckets="auto") -> tuple[pd.DataFrame, dict]:
    counts, truth = make_example_pass_counts(seed=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.SamplerWarning)
        fc = bs.forecast(
            counts, target=TARGET, law="pass_rate", seed=seed, progress=False, problem_k=problem_k, soft_buckets=soft_buckets
        )
    seconds = time.perf_counter() - start
    kept = fc.buckets[fc.buckets["bucket"] > 0]
    rows = []
    for label in fc.bucket_labels:
        members = kept if label == "all" else kept[kept["bucket"].astype(str) == label]
        true = true_pass_rates(truth, members["problem"], TARGET)
        for quantity in QUANTITIES:
            lower, upper = (float(np.ravel(v)[0]) for v in fc.interval(0.9, kind="mean", quantity=quantity, bucket=label))
            rows.append(
                {
                    "seed": seed,
                    "bucket": label,
                    "quantity": quantity,
                    "truth": true[quantity],
                    "lower_90": lower,
                    "upper_90": upper,
                    "covered": lower <= true[quantity] <= upper,
                }
            )
    stats = fc.idata.sample_stats
    health = {
        "seed": seed,
        "seconds": seconds,
        **fc.diagnostics.as_dict(),
        "step_size": float(stats["step_size"].mean()),
        "tree_depth": float(stats["tree_depth"].mean()),
        "soft_buckets": fc.settings["options"]["soft_buckets"],
        "expected_misplaced": fc.settings["options"]["expected_misplaced"],
    }
    return pd.DataFrame(rows), health


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--problem-k", action="store_true", help="one k per problem around its bucket's")
    parser.add_argument("--hard-buckets", action="store_true", help="soft_buckets=False: every problem follows its bucket's k")
    args = parser.parse_args()
    results, healths = [], []
    for seed in range(args.first, args.first + args.seeds):
        result, health = one_seed(seed, args.problem_k, False if args.hard_buckets else "auto")
        results.append(result)
        healths.append(health)
        mine = result[result["quantity"] == "pass_rate"]
        print(
            f"seed {seed}: {int(mine['covered'].sum())}/{len(mine)} covered (missed: {' '.join(mine.loc[~mine['covered'], 'bucket']) or '-'}), {health['seconds']:.0f} s, "
            f"divergences {health['divergences']}, r_hat {health['r_hat']:.3f}, "
            f"step {health['step_size']:.3f}, depth {health['tree_depth']:.1f}, "
            f"soft buckets {health['soft_buckets']} (expected misplaced {health['expected_misplaced']:.3f})",
            flush=True,
        )
    table = pd.concat(results, ignore_index=True)
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("\n90% coverage per bucket (pass_rate and neg_log_pass_rate):")
        print(table.pivot_table(index="bucket", columns="quantity", values="covered", aggfunc="mean").round(2).to_string())
        print(pd.DataFrame(healths).describe().loc[["mean", "min", "max"]].round(3).to_string())
    headline = table[(table["quantity"] == "pass_rate") & (table["bucket"] != "all")]
    print(
        f"\nper-bucket mean pass rate, 90% intervals: {headline['covered'].mean():.0%} covered "
        f"({int(headline['covered'].sum())}/{len(headline)} over {args.seeds} seeds; target >= 85%)"
    )


if __name__ == "__main__":
    main()
