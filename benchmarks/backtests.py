"""Backtests on real data: each law, their stack, and curve_fit + bootstrap, scored side by side.

Data (not shipped with the package; ../shared/data, or --data):
- Porian et al. (2024) compute-optimal losses, 5 training configurations: per
  configuration, fit the budgets <= 1/16 of the largest and forecast the two largest
  (10 forecasts in all; the README's calibration table).
- Chinchilla's points as digitised by Epoch AI (the 5 highest-loss points dropped, as
  Epoch did): fit C <= 1e20, forecast every run with C > 1e21.

Methods, all through ``bs.backtest`` in this one process, seed 0:
- ``bayes``: each law with default priors and sampler settings (and the chinchilla law
  with ``likelihood="student_t"``; the loss and chinchilla laws with ``extrapolation_error="auto"``,
  docs/loss-law.md); ``stacked``: the loss
  and chinchilla laws mixed by their stacking weights (``bs.compare``, PSIS-LOO on the
  fitted runs);
- ``bootstrap``: scipy curve_fit of the same law with 1,000 bootstrap refits.

    python benchmarks/backtests.py [--data ../shared/data] [--track-record bayes_scaling/datasets/track_record.csv]

``--track-record`` writes every single-law forecast (law, options, method, data set,
distance beyond the largest fitted run, whether the 50% and 90% intervals held the
truth, its error and PIT) to the file the package ships: reports quote it as the law's
track record at the forecast's distance, and the verdict reads it
(``bayes_scaling.checks.track_record``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import warnings
from pathlib import Path

import pandas as pd

import bayes_scaling as bs
import public_ladders as public

CASES = [  # (label, law, method, law options)
    ("loss law, bayes", "loss", "bayes", {}),
    ("chinchilla law, bayes", "chinchilla", "bayes", {}),
    ("chinchilla law (student_t), bayes", "chinchilla", "bayes", {"likelihood": "student_t"}),
    ("stacked loss+chinchilla", ["loss", "chinchilla"], "bayes", {}),
    # opt-in, so not among the single laws the stack is held against (stacking_check)
    ("loss law, bayes + extrapolation error", "loss", "bayes", {"extrapolation_error": "auto"}),
    ("chinchilla law, bayes + extrapolation error", "chinchilla", "bayes", {"extrapolation_error": "auto"}),
    ("loss law, curve_fit + bootstrap", "loss", "bootstrap", {}),
    ("chinchilla law, curve_fit + bootstrap", "chinchilla", "bootstrap", {}),
]


def porian_ladders(data_dir: Path):
    """(config name, runs, holdout_above, fit_up_to) per training configuration."""
    for config, runs in public.porian_compute_optimal(data_dir).items():
        third_largest = runs["compute"].nlargest(3).iloc[-1]
        yield config, runs, third_largest, runs["compute"].max() / 16


def run_case(runs, law, method, options, holdout_above, fit_up_to):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bs.backtest(runs, law=law, holdout_above=holdout_above, fit_up_to=fit_up_to, method=method, seed=0, progress=False, **options)
    unhealthy = sum(issubclass(w.category, bs.SamplerWarning) for w in caught)
    return result, time.perf_counter() - start, unhealthy


def score_table(results: dict) -> pd.DataFrame:
    """One row per method: pooled scores over every held-out run."""
    rows = []
    for label, (frames, seconds, unhealthy) in results.items():
        frame = pd.concat(frames, ignore_index=True)
        rows.append(
            {
                "method": label,
                "forecasts": len(frame),
                "coverage_50": frame["covered_50"].mean(),
                "coverage_90": frame["covered_90"].mean(),
                "median_abs_pct_err": frame["abs_pct_error"].median(),
                "mean_crps": frame["crps"].mean(),
                "unhealthy_fits": unhealthy,
                "seconds": seconds,
            }
        )
    return pd.DataFrame(rows)


def backtest_all(ladders, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-forecast rows, pooled score table) over ``ladders`` for every case."""
    pooled = {label: ([], 0.0, 0) for label, *_ in CASES}
    rows = []
    for name, runs, holdout_above, fit_up_to in ladders:
        largest_fitted = float(runs.loc[runs["compute"] <= fit_up_to, "compute"].max())
        for label, law, method, options in CASES:
            result, seconds, unhealthy = run_case(runs, law, method, options, holdout_above, fit_up_to)
            frames, total, bad = pooled[label]
            pooled[label] = (frames + [result.frame], total + seconds, bad + unhealthy)
            rows.append(
                result.frame.assign(
                    ladder=name, method=label, dataset=dataset, law="+".join([law] if isinstance(law, str) else law),
                    options=json.dumps(options, sort_keys=True), fit_method=method, largest_fitted=largest_fitted,
                    ratio=result.frame["compute"] / largest_fitted, healthy=unhealthy == 0,
                )
            )
            if label.startswith("stacked"):
                weights = result.forecast.weights
                print(f"  {name}: stacking weights " + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()))
    return pd.concat(rows, ignore_index=True), score_table(pooled)


def stacking_check(table: pd.DataFrame) -> str:
    """Whether the stack scored no worse than the worst single Bayesian law (CRPS, coverage)."""
    singles = table[table["method"].str.endswith(", bayes")]
    stacked = table[table["method"].str.startswith("stacked")].iloc[0]
    worst_crps, worst_cov = singles["mean_crps"].max(), singles["coverage_90"].min()
    ok = stacked["mean_crps"] <= worst_crps and stacked["coverage_90"] >= worst_cov
    return (
        f"stacked mean CRPS {stacked['mean_crps']:.4f} vs worst single law {worst_crps:.4f}; "
        f"90% coverage {stacked['coverage_90']:.0%} vs worst {worst_cov:.0%}: "
        + ("not worse than the worst single law" if ok else "WORSE than the worst single law")
    )


def show(title: str, table: pd.DataFrame) -> None:
    print(f"\n== {title}")
    formats = {"coverage_50": "{:.0%}".format, "coverage_90": "{:.0%}".format}
    print(table.to_string(index=False, formatters=formats, float_format=lambda v: f"{v:.4g}"))
    print(stacking_check(table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--detail", action="store_true", help="also print every forecast")
    parser.add_argument("--track-record", type=Path, help="write every single-law forecast to this CSV (the package's track record)")
    args = parser.parse_args()

    print("Porian et al. (2024): fit budgets <= 1/16 of the largest, forecast the two largest")
    porian_rows, porian = backtest_all(porian_ladders(args.data), "Porian et al. (2024), OpenWebText2, compute-optimal")
    show("Porian et al., 5 configurations x 2 largest budgets", porian)
    errors = {label: porian_rows.loc[porian_rows["method"] == label, "abs_pct_error"].to_numpy() for label, *_ in CASES}
    wins = int((errors["loss law, bayes"] < errors["loss law, curve_fit + bootstrap"]).sum())
    print(f"loss law: the posterior median is closer than curve_fit's point fit in {wins} of {len(errors['loss law, bayes'])}")

    print("\nChinchilla (Epoch's digitised points, 240): fit C <= 1e20, forecast C > 1e21")
    chin_rows, chin = backtest_all([("chinchilla", public.chinchilla_points(args.data), 1e21, 1e20)],
                                   "Chinchilla (Hoffmann et al. 2022, Epoch AI's digitised points)")
    show("Chinchilla, held-out runs with C > 1e21", chin)
    if args.detail:
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(pd.concat([porian_rows, chin_rows]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.track_record:
        write_track_record(pd.concat([porian_rows, chin_rows], ignore_index=True), args.track_record)
        print(f"track record: {args.track_record}")


TRACK_COLUMNS = ["law", "options", "method", "dataset", "ladder", "largest_fitted", "compute", "ratio", "actual", "median",
                 "lower_90", "upper_90", "covered_50", "covered_90", "abs_pct_error", "pit", "crps", "healthy"]


def write_track_record(rows: pd.DataFrame, path: Path) -> None:
    """The single-law forecasts, one row each, with what produced them in the header comment."""
    single = rows[~rows["law"].str.contains("+", regex=False)]
    frame = single.assign(method=single["fit_method"])[TRACK_COLUMNS]
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip() or "unknown"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"# written by benchmarks/backtests.py --track-record at commit {commit}, {time.strftime('%Y-%m-%d')}; "
                     "seed 0, default priors and sampler settings\n")
        frame.to_csv(handle, index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
