"""The law with one bend against the plain law where the curve bends: LOO choice and backtest coverage.

Porian et al.'s five training configurations (compute-optimal losses on OpenWebText2): the
"short" ones bend (their log-log slope changes along the ladder). Each is fitted on the budgets
up to C_max/cut, for cut = 16 and 64, with

- ``loss``: the plain law L = a·C^b + c;
- ``loss`` with ``extrapolation_error="auto"``: the plain law with its deviation (laws/extrapolation.py);
- ``broken_loss``: one smooth bend (laws/broken_loss.py);
- the stack of the plain and the broken law (``bs.stack``, weights from PSIS-LOO);

and asked for every budget beyond the fit. Printed per configuration and cut: the LOO choice
between the plain and the broken law (elpd difference ± its se), the stacking weight of the broken
law, and for each method the coverage of the 90% predictive intervals of the held-out losses and
their mean width; then the totals over every (configuration, cut, held-out budget).

    python benchmarks/broken_law.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import public_ladders as public  # noqa: E402

import bayes_scaling as bs  # noqa: E402
from bayes_scaling.laws.broken_loss import MIN_COMPUTES  # noqa: E402

CUTS = (16, 64)
METHODS = ("plain", "extrapolation error", "broken", "stacked")


def fits(runs: pd.DataFrame, targets: np.ndarray, seed: int) -> tuple[dict, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs.ExtrapolationWarning)
        warnings.simplefilter("ignore", bs.CurvatureWarning)  # the bend is what is measured here
        plain = bs.forecast(runs, target=targets, seed=seed, progress=False)
        bent = bs.forecast(runs, target=targets, law="broken_loss", seed=seed, progress=False)
        deviation = bs.forecast(runs, target=targets, seed=seed, progress=False, extrapolation_error="auto")
        warnings.simplefilter("ignore", UserWarning)  # Pareto k > 0.7 on a run or two: said in the docs
        comparison = bs.compare([plain, bent])
        stacked = bs.stack([plain, bent])
    health = {"plain": plain.ok, "broken": bent.ok, "extrapolation error": deviation.ok}
    return {"plain": plain, "extrapolation error": deviation, "broken": bent, "stacked": stacked, "ok": health}, comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    began = time.perf_counter()
    rows = []
    for config, runs in public.porian_compute_optimal(args.data).items():
        runs = runs[["compute", "loss"]]
        for cut in CUTS:
            fitted = public.fit_cut(runs, cut)
            held = runs[runs["compute"] > fitted["compute"].max()]
            if len(fitted) < MIN_COMPUTES or held.empty:  # the broken law needs six
                continue
            made, comparison = fits(fitted, held["compute"].to_numpy(), args.seed)
            diff = comparison.loc["loss", "elpd_diff"] if comparison.index[0] == "broken_loss" else -comparison.loc["broken_loss", "elpd_diff"]
            dse = comparison["dse"].max()
            line = [f"{config} C<=max/{cut} ({len(fitted)} runs, {len(held)} held out): LOO prefers "
                    f"{comparison.index[0]} (broken - plain elpd {diff:+.2f} ± {dse:.2f}), stacking weight of broken "
                    f"{comparison.loc['broken_loss', 'weight']:.2f}; samplers ok {made['ok']}"]
            loss = held["loss"].to_numpy()
            for method in METHODS:
                lower, upper = made[method].interval(0.9)
                inside = (loss >= lower) & (loss <= upper)
                for i in range(len(loss)):
                    rows.append({"config": config, "cut": cut, "method": method, "inside": bool(inside[i]),
                                 "width": float(upper[i] - lower[i]), "ratio": float(held["compute"].iloc[i] / fitted["compute"].max())})
                line.append(f"    {method:>19}: coverage {inside.mean():.2f}, mean width {np.mean(upper - lower):.4f}")
            print("\n".join(line), flush=True)
    table = pd.DataFrame(rows)
    print("\nover every held-out budget (90% intervals):")
    summary = table.groupby(["method"], sort=False).agg(n=("inside", "size"), coverage=("inside", "mean"), width=("width", "mean"))
    print(summary.round(4).to_string())
    bending = table[table["config"].str.contains("short")]
    print("\nthe bending ('short') configurations only:")
    print(bending.groupby(["method"], sort=False).agg(n=("inside", "size"), coverage=("inside", "mean"), width=("width", "mean")).round(4).to_string())
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
