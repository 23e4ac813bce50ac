"""Calibration on real compute-optimal losses: bayes_scaling against curve_fit + bootstrap.

Data: Porian et al. (2024), ../shared/data/porian2024_compute_optimal_owt2.csv (not
shipped with the package). For each of the five training configurations, fit the
budgets <= 1/16 of the largest and forecast the two largest; score whether each
90% interval covers the measured loss, and the absolute % error of the median.

Both methods run in this one process on the same points:
- bayes_scaling.forecast, default priors and sampler settings, seed 0;
- scipy curve_fit of L = a·(C/C_ref)^b + c with 1,000 bootstrap resamples of the
  fitted points (percentile interval of the refitted curve at the target).

    python benchmarks/calibration_porian.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from baselines import BOOTSTRAPS, curve_fit_bootstrap_draws

import bayes_scaling as bs

CONFIG = ["hparams", "warmup", "decay", "param_count", "val"]


def power_law(x, a, b, c):
    return a * np.exp(b * x) + c


def curve_fit_bootstrap(compute, loss, targets, rng):
    """Point fit and 90% percentile bootstrap interval at the targets."""
    c_ref = np.exp(np.log(compute).mean())
    x, xt = np.log(compute / c_ref), np.log(targets / c_ref)
    start = (loss.max() - 0.8 * loss.min(), -0.2, 0.8 * loss.min())
    bounds = ([0, -5, 0], [np.inf, 0, loss.min()])
    point, boot = curve_fit_bootstrap_draws(power_law, x, loss, xt, start, bounds, rng, BOOTSTRAPS)
    lower, upper = np.quantile(boot, [0.05, 0.95], axis=0)
    return point, lower, upper


def run(data_dir: Path) -> pd.DataFrame:
    table = pd.read_csv(data_dir / "porian2024_compute_optimal_owt2.csv").dropna(subset=["loss_star"])
    rows = []
    rng = np.random.default_rng(0)
    timings = {"bayes": 0.0, "bootstrap": 0.0}
    for config, group in table.groupby(CONFIG):
        fit = group[group["flops"] <= group["flops"].max() / 16]
        test = group.nlargest(2, "flops").sort_values("flops")
        runs = pd.DataFrame({"compute": fit["flops"], "loss": fit["loss_star"]})
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fc = bs.forecast(runs, target=test["flops"].to_numpy(), seed=0, progress=False)
        timings["bayes"] += time.perf_counter() - start
        start = time.perf_counter()
        point, boot_lo, boot_hi = curve_fit_bootstrap(
            runs["compute"].to_numpy(), runs["loss"].to_numpy(), test["flops"].to_numpy(), rng
        )
        timings["bootstrap"] += time.perf_counter() - start
        lower, upper = fc.interval(0.9)
        median = fc.to_frame()["median"].to_numpy()
        d = fc.diagnostics
        for i, (compute, actual) in enumerate(zip(test["flops"], test["loss_star"])):
            rows.append(
                {
                    "config": "/".join(config),
                    "n_fit": len(runs),
                    "target": compute,
                    "ratio": compute / runs["compute"].max(),
                    "actual": actual,
                    "bayes_median": median[i],
                    "bayes_lo90": lower[i],
                    "bayes_hi90": upper[i],
                    "bayes_covered": lower[i] <= actual <= upper[i],
                    "bayes_err%": abs(median[i] / actual - 1) * 100,
                    "cf_point": point[i],
                    "boot_lo90": boot_lo[i],
                    "boot_hi90": boot_hi[i],
                    "boot_covered": boot_lo[i] <= actual <= boot_hi[i],
                    "cf_err%": abs(point[i] / actual - 1) * 100,
                    "divergences": d.divergences,
                    "r_hat": d.r_hat,
                    "ess_bulk": d.ess_bulk,
                    "warnings": len([w for w in caught if issubclass(w.category, bs.SamplerWarning)]),
                }
            )
    result = pd.DataFrame(rows)
    result.attrs["timings"] = timings
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = parser.parse_args()
    result = run(args.data)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(result.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print()
    print(f"{'method':<26}{'90% coverage':>14}{'median |err| %':>16}{'mean |err| %':>14}{'time s':>9}")
    t = result.attrs["timings"]
    for label, covered, err, seconds in (
        ("bayes_scaling", "bayes_covered", "bayes_err%", t["bayes"]),
        ("curve_fit + bootstrap", "boot_covered", "cf_err%", t["bootstrap"]),
    ):
        print(f"{label:<26}{result[covered].mean():>14.0%}{result[err].median():>16.2f}{result[err].mean():>14.2f}{seconds:>9.1f}")
    wins = int((result["bayes_err%"] < result["cf_err%"]).sum())
    print(f"bayes_scaling's median is closer than curve_fit's point in {wins} of {len(result)} forecasts")
    print(
        f"sampler health over {len(result) // 2} fits: max divergences {result['divergences'].max()}, "
        f"max r_hat {result['r_hat'].max():.3f}, min ess_bulk {result['ess_bulk'].min():.0f}"
    )


if __name__ == "__main__":
    main()
