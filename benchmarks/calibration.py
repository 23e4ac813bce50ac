"""Calibration of the loss and L(N, D) laws' forecasts far beyond the data, on every public ladder.

Data (not shipped; ../shared/data, or --data): loss-vs-compute frontiers of
- Porian et al. (2024), OpenWebText2: the compute-optimal runs of each of 5 configurations;
- Chinchilla (Epoch AI's digitised points): the lowest loss per half-decade of compute;
- Li et al. (2025, "Misfitting"), best learning rate: the lowest loss per half-decade.

Per frontier and fit cut r in (16, 64, 256), wherever >= 4 distinct computes remain: fit the
runs with C <= C_max / r and forecast every run with C >= C_max / 2. (Porian et al.'s IsoFLOP
frontier is left out: it is the compute-optimal table again.) The same for the L(N, D) ladders,
with the chinchilla law, each run forecast at its own (N, D) (``--grids``; ``--grids-only`` skips
the frontiers): Porian et al.'s IsoFLOP sweeps (5 configurations), Chinchilla's 240 points, the
Misfitting grid at the best learning rate and at all of them; methods ``plain``, the default
scale (``--grid-scales`` for others, and then ``lodo`` among them) and ``bootstrap``. Methods on the frontiers, in this one
process, seed 0, default sampler settings:
- ``plain``: the loss law without its extrapolation error (``extrapolation_error=False``);
- ``s0=<v>``: with it, its scale's prior HalfNormal(v) (``default`` marks the package's value);
- ``lodo``: per dataset, the s0 with the best mean log score on the *other* datasets' forecasts;
- ``bootstrap``: scipy curve_fit of the same law, 1,000 bootstrap refits.

Scores (pooled and per cut): 50% and 90% coverage, median abs % error of the median, mean CRPS,
mean log score (a kernel density of the draws' log, at the actual), unhealthy fits; a PIT
histogram (--pit PNG). ``--csv`` writes every forecast.

    python benchmarks/calibration.py [--data ../shared/data] [--scales 0.003,0.01,0.03] [--csv F] [--pit F] [--grids | --grids-only]
    python benchmarks/calibration.py --grids-only --grid-scales 0.003,0.01,0.03   # the scale the L(N, D) ladders pick
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import gaussian_kde

import bayes_scaling as bs
import public_ladders as public
from bayes_scaling.evaluation.backtest import score_draws
from bayes_scaling.evaluation.baseline import bootstrap_draws
from bayes_scaling.laws.extrapolation import DEFAULT_SCALE_PRIOR

CUTS = (16, 64, 256)
MIN_DISTINCT = 4


def envelope(runs: pd.DataFrame, per_decade: int = 2) -> pd.DataFrame:
    """The lowest loss per bin of log10 compute, kept only where it falls below every smaller
    bin's: a compute-optimal frontier of a grid of runs."""
    bins = np.floor(np.log10(runs["compute"]) * per_decade)
    best = runs.loc[runs.groupby(bins)["loss"].idxmin(), ["compute", "loss"]].sort_values("compute")
    falling = best["loss"] < best["loss"].cummin().shift(1, fill_value=np.inf)
    return best[falling].reset_index(drop=True)


def frontiers(data_dir: Path):
    """(dataset, ladder name, runs with compute and loss)."""
    for config, runs in public.porian_compute_optimal(data_dir).items():
        yield "porian-compute-optimal", config, runs[["compute", "loss"]].sort_values("compute").reset_index(drop=True)
    yield "chinchilla", "frontier", envelope(public.chinchilla_points(data_dir))
    yield "misfitting", "best-lr frontier", envelope(public.misfitting(data_dir))


def grids(data_dir: Path):
    """(dataset, ladder name, runs with params, tokens, compute and loss): the L(N, D) ladders."""
    for config, runs in public.porian_isoflop(data_dir).items():
        yield "porian-isoflop", config, runs
    yield "chinchilla-points", "all 240", public.chinchilla_points(data_dir)
    yield "misfitting-grid", "best learning rate", public.misfitting(data_dir, best_lr_only=True)
    yield "misfitting-grid", "all learning rates", public.misfitting(data_dir, best_lr_only=False)


def log_score(draws: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """log density of each actual under a Gaussian kernel density of the draws' log (per target)."""
    return np.array([gaussian_kde(np.log(draws[:, j])).logpdf(np.log(a))[0] for j, a in enumerate(actual)])


def fit_one(fitted: pd.DataFrame, held: pd.DataFrame, method: str, scale: float | None, law: str = "loss"):
    """(draws (n_draws, n_held), point or None, healthy, seconds, diagnostics or None)."""
    start = time.perf_counter()
    if method == "bootstrap":
        point, draws = bootstrap_draws(fitted, held, law, 1000, 0)
        return draws, point, True, time.perf_counter() - start, None
    target = held[["params", "tokens"]] if law == "chinchilla" else held["compute"].to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = bs.forecast(fitted, target=target, law=law, seed=0, progress=False,
                         extrapolation_error=False if scale is None else scale)
    healthy = fc.ok and not any(issubclass(w.category, bs.SamplerWarning) for w in caught)
    return fc.draws(), None, healthy, time.perf_counter() - start, fc.diagnostics


def run(ladders, scales: list[float], law: str = "loss") -> pd.DataFrame:
    methods = [("plain", None)] + [(f"s0={s:g}", s) for s in scales] + [("bootstrap", None)]
    rows = []
    for dataset, ladder, runs in ladders:
        c_max = runs["compute"].max()
        held = runs[runs["compute"] >= c_max / 2 * (1 - 1e-9)].reset_index(drop=True)
        for cut in CUTS:
            fitted = runs[runs["compute"] <= c_max / cut * (1 + 1e-9)].reset_index(drop=True)
            if fitted["compute"].nunique() < MIN_DISTINCT:
                continue
            for label, scale in methods:
                draws, point, healthy, seconds, diag = fit_one(fitted, held, "bootstrap" if label == "bootstrap" else "bayes", scale, law)
                scored = score_draws(draws, held["loss"].to_numpy(), point)
                scored = scored.assign(
                    law=law, dataset=dataset, ladder=ladder, cut=cut, method=label, scale=scale, fitted=len(fitted),
                    compute=held["compute"].to_numpy(), actual=held["loss"].to_numpy(),
                    distance=np.log(held["compute"].to_numpy() / fitted["compute"].max()),
                    log_score=log_score(draws, held["loss"].to_numpy()), healthy=healthy, seconds=seconds,
                    divergences=None if diag is None else diag.divergences,
                    r_hat=None if diag is None else diag.r_hat,
                    width_90=(scored["upper_90"] - scored["lower_90"]) / scored["median"],
                )
                rows.append(scored)
                print(f"{dataset:24s} {ladder[:28]:28s} /{cut:<3d} {label:10s} n={len(fitted):3d} held {len(held):3d} "
                      f"cov90 {scored['covered_90'].mean():.2f} err {scored['abs_pct_error'].median():.2f}% "
                      f"width {scored['width_90'].median():.3f} {'ok' if healthy else 'UNHEALTHY'} {seconds:.0f}s", flush=True)
    return pd.concat(rows, ignore_index=True)


def with_lodo(frame: pd.DataFrame, scales: list[float]) -> pd.DataFrame:
    """Add method ``lodo``: per dataset, the scale with the best mean log score elsewhere."""
    picked = []
    for dataset in frame["dataset"].unique():
        others = frame[(frame["dataset"] != dataset) & frame["scale"].isin(scales)]
        best = others.groupby("scale")["log_score"].mean().idxmax()
        chosen = frame[(frame["dataset"] == dataset) & (frame["scale"] == best) & (frame["method"] != "bootstrap")]
        picked.append(chosen.assign(method="lodo"))
        print(f"leave-one-dataset-out: {dataset} gets s0={best:g}")
    return pd.concat([frame, *picked], ignore_index=True)


def summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return (
        frame.groupby(by, sort=False)
        .agg(forecasts=("actual", "size"), coverage_50=("covered_50", "mean"), coverage_90=("covered_90", "mean"),
             median_abs_pct_err=("abs_pct_error", "median"), mean_crps=("crps", "mean"), mean_log_score=("log_score", "mean"),
             median_width_90=("width_90", "median"), unhealthy_fits=("healthy", lambda h: int((~h.astype(bool)).sum())))
        .reset_index()
    )


def pit_histogram(frame: pd.DataFrame, methods: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(methods), figsize=(3.2 * len(methods), 2.8), sharey=True)
    for ax, method in zip(np.atleast_1d(axes), methods):
        pit = frame.loc[frame["method"] == method, "pit"].to_numpy()
        ax.hist(pit, bins=np.linspace(0, 1, 11), color="#4477aa", edgecolor="white")
        ax.axhline(len(pit) / 10, color="k", lw=1, ls="--")
        ax.set_title(f"{method} ({len(pit)})", fontsize=9)
        ax.set_xlabel("PIT")
    np.atleast_1d(axes)[0].set_ylabel("forecasts")
    fig.suptitle("PIT of held-out losses (flat = calibrated)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def exact_law_ladder(seed: int, noise: float = 0.01):
    """tests/test_recovery.py's ladder: 8 runs over 1,000x from L = a·C^b + c, 1% noise; and a fresh run at 100x."""
    rng = np.random.default_rng(seed)
    b, c = rng.uniform(-0.35, -0.1), rng.uniform(1.5, 2.5)
    compute = np.geomspace(1e17, 1e20, 8)
    a = rng.uniform(1.0, 2.5) / compute[0] ** b
    runs = pd.DataFrame({"compute": compute, "loss": (a * compute**b + c) * np.exp(noise * rng.standard_normal(8))})
    target = 100 * compute[-1]
    return runs, target, (a * target**b + c) * np.exp(noise * rng.standard_normal())


def synthetic(seeds: int, scale: float) -> pd.DataFrame:
    """Plain law against the extrapolation error on exact-law ladders: coverage and width at 100x."""
    rows = []
    for seed in range(seeds):
        runs, target, new_run = exact_law_ladder(seed)
        for label, option in (("plain", False), (f"s0={scale:g}", scale)):
            fc = bs.forecast(runs, target=target, seed=seed, progress=False, extrapolation_error=option)
            lower, upper = np.atleast_1d(*fc.interval(0.9))
            rows.append({"seed": seed, "method": label, "covered_90": bool(lower[0] <= new_run <= upper[0]),
                         "width_90": float((upper[0] - lower[0]) / np.median(fc.draws())), "healthy": fc.ok})
    frame = pd.DataFrame(rows)
    table = frame.groupby("method", sort=False).agg(coverage_90=("covered_90", "mean"), median_width_90=("width_90", "median"),
                                                    unhealthy=("healthy", lambda h: int((~h).sum())))
    print(f"\n== exact-law ladders of the recovery test, {seeds} seeds, 90% interval at 100x")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    growth = table["median_width_90"].iloc[1] / table["median_width_90"].iloc[0] - 1
    print(f"median width grows by {growth:.1%} with the extrapolation error")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=public.DEFAULT_DATA)
    parser.add_argument("--scales", default=f"0.003,{DEFAULT_SCALE_PRIOR:g},0.03")
    parser.add_argument("--csv", type=Path, help="write every forecast here")
    parser.add_argument("--pit", type=Path, help="write the PIT histograms (PNG) here")
    parser.add_argument("--synthetic", type=int, default=50, metavar="SEEDS", help="exact-law ladders to check width on (0: skip)")
    parser.add_argument("--synthetic-only", action="store_true", help="only the exact-law check")
    parser.add_argument("--grids", action="store_true", help="also the L(N, D) ladders, with the chinchilla law")
    parser.add_argument("--grids-only", action="store_true", help="only the L(N, D) ladders")
    parser.add_argument("--grid-scales", default=f"{DEFAULT_SCALE_PRIOR:g}",
                        help="prior scales tried on the L(N, D) ladders (default: the package's); with two or more, also lodo")
    args = parser.parse_args()
    if args.synthetic_only:
        synthetic(args.synthetic, DEFAULT_SCALE_PRIOR)
        return
    default = f"s0={DEFAULT_SCALE_PRIOR:g}"
    if args.grids or args.grids_only:
        grid_scales = [float(v) for v in args.grid_scales.split(",")]
        nd = run(grids(args.data), grid_scales, law="chinchilla")
        if len(grid_scales) > 1:
            nd = with_lodo(nd, grid_scales)
        if args.csv:
            nd.to_csv(args.csv.with_name(args.csv.stem + "-grids" + args.csv.suffix), index=False)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print("\n== L(N, D) ladders (chinchilla law), pooled per fit cut")
            print(summarise(nd, ["cut", "method"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            print("\n== L(N, D) ladders, per dataset")
            print(summarise(nd, ["dataset", "method"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if args.grids_only:
            return
    scales = [float(v) for v in args.scales.split(",")]
    frame = with_lodo(run(frontiers(args.data), scales), scales)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\n== pooled over every dataset, per fit cut")
        print(summarise(frame, ["cut", "method"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("\n== pooled over every cut")
        print(summarise(frame, ["method"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("\n== per dataset (plain, default, lodo)")
        chosen = frame[frame["method"].isin(["plain", default, "lodo", "bootstrap"])]
        print(summarise(chosen, ["dataset", "method"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.pit:
        pit_histogram(frame, ["plain", default, "lodo", "bootstrap"], args.pit)
        print(f"PIT histograms: {args.pit}")
    if args.synthetic:
        synthetic(args.synthetic, DEFAULT_SCALE_PRIOR)


if __name__ == "__main__":
    main()
