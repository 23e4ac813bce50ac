"""Two-step capability forecasts on Pythia: fit <= 1.4B, forecast 2.8B, 6.9B and 12B accuracy.

Data: ../shared/data/pythia_v1_zeroshot_checkpoints.csv (EleutherAI/pythia evals; not
shipped), final checkpoints (300B tokens), standard and deduped models. Compute =
6 · N_total · tokens, computed here in floating point (the file's ``flops_6ND`` column
overflowed int64 and is negative for the large models).

Task loss: the file has one per-item likelihood measure, LAMBADA's perplexity of the
correct last word; its log is the mean negative log-likelihood of the correct answer in
nats, the task loss of the Llama 3 recipe. ``--task lambada`` (default) forecasts LAMBADA
accuracy (5,153 items, chance 0) from it. ``--task arc_easy`` forecasts ARC-Easy accuracy
(2,376 items, 4-way: floor 0.25) through the same LAMBADA loss as a *proxy* task loss,
since ARC-Easy's own loss is not in the file.

Beside it, the naive baseline: a sigmoid straight in log compute (floor fixed, ceiling,
slope and midpoint fitted with scipy ``curve_fit``) with a 90% interval from 1,000
bootstrap resamples of the fitted runs; and the two steps fitted as point estimates with
``curve_fit`` (to separate the law's error from the Bayesian intervals').

    python benchmarks/two_step_pythia.py [--data ../shared/data] [--task lambada|arc_easy]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

import bayes_scaling as bs
import public_ladders as public
from bayes_scaling.evaluation.baseline import BOOTSTRAPS, curve_fit_bootstrap

FIT_MAX_PARAMS = 1.5e9  # 70M .. 1.4B (incl. 1B deduped)
TASKS = {name: {"accuracy": column, "items": items, "floor": floor} for name, (column, items, floor) in public.ZEROSHOT_TASKS.items()}
BOOTSTRAP = BOOTSTRAPS


def load(data_dir: Path, task: str) -> pd.DataFrame:
    return public.pythia_zeroshot(data_dir, task)


def sigmoid_in_log_compute(floor):
    def curve(log_c, ceiling, slope, mid):
        return floor + (ceiling - floor) / (1 + np.exp(-slope * (log_c - mid)))

    return curve


def naive_baseline(fit: pd.DataFrame, targets: np.ndarray, floor: float, seed: int = 0) -> pd.DataFrame:
    """Sigmoid in log10 compute by curve_fit; 90% interval from bootstrap resamples of runs."""
    curve = sigmoid_in_log_compute(floor)
    x, y = np.log10(fit["compute"].to_numpy()), fit["accuracy"].to_numpy()
    start, bounds = [0.9, 1.0, np.median(x)], ([floor + 1e-3, 1e-3, 10.0], [1.0, 20.0, 30.0])
    point, draws = curve_fit_bootstrap(curve, x, y, np.log10(targets), start, bounds, np.random.default_rng(seed), BOOTSTRAP)
    return pd.DataFrame(
        {
            "compute": targets,
            "point": point,
            "lo90": np.quantile(draws, 0.05, axis=0),
            "hi90": np.quantile(draws, 0.95, axis=0),
            "resamples": len(draws),
        }
    )


def two_step_point(fit: pd.DataFrame, targets: np.ndarray, floor: float) -> np.ndarray:
    """Both steps by curve_fit: task loss = E + A·C^-alpha, accuracy = sigmoid(task loss)."""
    c = fit["compute"].to_numpy() / 1e21
    power, _ = curve_fit(lambda c, e, a, alpha: e + a * c**-alpha, c, fit["task_loss"], p0=[1.0, 1.0, 0.3], maxfev=20000)

    def sigmoid(loss, ceiling, slope, mid):
        return floor + (ceiling - floor) / (1 + np.exp(slope * (loss - mid)))

    step_two, _ = curve_fit(
        sigmoid, fit["task_loss"], fit["accuracy"], p0=[0.9, 1.0, 2.5], bounds=([floor + 1e-3, 1e-3, 0.0], [1.0, 50.0, 20.0])
    )
    loss = power[0] + power[1] * (targets / 1e21) ** -power[2]
    return sigmoid(loss, *step_two)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--task", choices=sorted(TASKS), default="lambada")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = TASKS[args.task]
    table = load(args.data, args.task)
    fit, test = table[table["params"] <= FIT_MAX_PARAMS], table[table["params"] > FIT_MAX_PARAMS]
    targets = np.sort(test["compute"].unique())

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = bs.forecast(fit, target=targets, law="two_step", items=task["items"], floor=task["floor"], seed=args.seed, progress=False)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    naive = naive_baseline(fit, targets, task["floor"], seed=args.seed)
    naive_seconds = time.perf_counter() - start
    point = two_step_point(fit, targets, task["floor"])

    rows = []
    for _, run in test.sort_values(["compute", "run"]).iterrows():
        i = int(np.flatnonzero(targets == run["compute"])[0])
        row = {"run": run["run"], "compute": run["compute"]}
        for quantity, actual in (("accuracy", run["accuracy"]), ("task_loss", run["task_loss"])):
            draws = fc.draws("predictive", quantity)[:, i]
            lo, med, hi = np.quantile(draws, [0.05, 0.5, 0.95])
            short = "acc" if quantity == "accuracy" else "loss"
            row.update({short: actual, f"{short}_median": med, f"{short}_lo90": lo, f"{short}_hi90": hi, f"{short}_covered": lo <= actual <= hi})
        b = naive.iloc[i]
        row.update(
            {
                "naive_point": b["point"],
                "naive_lo90": b["lo90"],
                "naive_hi90": b["hi90"],
                "naive_covered": b["lo90"] <= run["accuracy"] <= b["hi90"],
                "two_step_point": point[i],
            }
        )
        rows.append(row)
    result = pd.DataFrame(rows)

    print(f"== two-step law on Pythia, task {args.task} (items {task['items']}, floor {task['floor']}); fit <= 1.4B (final checkpoints)")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(result.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    d = fc.diagnostics
    acc_err = 100 * (result["acc_median"] - result["acc"])
    print(
        f"two-step (Bayes): 90% coverage accuracy {result['acc_covered'].mean():.0%} ({int(result['acc_covered'].sum())}/{len(result)}), "
        f"task loss {result['loss_covered'].mean():.0%}; median |error| {acc_err.abs().median():.2f} pp (mean signed {acc_err.mean():+.2f} pp); "
        f"mean 90% width {100 * (result['acc_hi90'] - result['acc_lo90']).mean():.2f} pp; fit {seconds:.1f} s; "
        f"divergences {d.divergences}, max r_hat {d.r_hat:.3f}, min ess_bulk {d.ess_bulk:.0f}, ok={d.ok}"
    )
    naive_err = 100 * (result["naive_point"] - result["acc"])
    print(
        f"naive sigmoid in log compute + bootstrap ({int(naive['resamples'].min())} resamples): 90% coverage "
        f"{result['naive_covered'].mean():.0%} ({int(result['naive_covered'].sum())}/{len(result)}); median |error| "
        f"{naive_err.abs().median():.2f} pp; mean 90% width {100 * (result['naive_hi90'] - result['naive_lo90']).mean():.2f} pp; {naive_seconds:.1f} s"
    )
    point_err = 100 * (result["two_step_point"] - result["acc"])
    print(f"two-step point fit (curve_fit, both steps): median |error| {point_err.abs().median():.2f} pp (mean signed {point_err.mean():+.2f} pp)")
    print("posterior of the parameters:")
    print(fc.parameters()[["mean", "sd", "hdi_3%", "hdi_97%", "r_hat", "ess_bulk"]].to_string())
    print("trend-reversal check on the fitted runs:")
    print(fc.trend_reversal.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for w in caught:
        if issubclass(w.category, (bs.SamplerWarning, bs.TrendReversalWarning)):
            print(f"warning: {w.category.__name__}: {w.message}")


if __name__ == "__main__":
    main()
