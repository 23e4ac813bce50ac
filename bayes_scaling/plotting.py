"""Figures people look at: the fan chart of a forecast."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_scaling.laws import get_law

_GRID = 120


def fan_chart(fc, path=None, ax=None, kind: str = "predictive"):
    """Data, median curve and 50%/90% bands from the smallest compute out to the targets.

    Bands are equal-tailed, like ``Forecast.interval``; ``kind="mean"`` draws the bands
    of the mean curve, ``"predictive"`` those of one new run (which include run noise).
    Returns the matplotlib Figure; writes it to ``path`` when given.
    """
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    law = get_law(fc.law)
    quantity = fc.settings["quantity"]
    runs = fc.runs
    low = min(runs["compute"].min(), fc.targets.min())
    high = max(runs["compute"].max(), fc.targets.max())
    grid = np.geomspace(low, high, _GRID)
    mean, predictive = law.predict(fc.idata.posterior, runs, grid, np.random.default_rng(fc.settings["seed"]))
    draws = (predictive if kind == "predictive" else mean).reshape(-1, grid.size)
    q05, q25, q50, q75, q95 = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    else:
        fig = ax.figure
    ax.fill_between(grid, q05, q95, color="tab:blue", alpha=0.18, lw=0, label="90% interval")
    ax.fill_between(grid, q25, q75, color="tab:blue", alpha=0.35, lw=0, label="50% interval")
    ax.plot(grid, q50, color="tab:blue", lw=1.8, label="median")
    ax.scatter(runs["compute"], runs[quantity], color="black", s=18, zorder=3, label="fitted runs")
    lower, upper = fc.interval(0.9, kind=kind)
    median = np.median(fc.draws(kind), axis=0)
    ax.errorbar(
        fc.targets,
        median,
        yerr=[median - np.atleast_1d(lower), np.atleast_1d(upper) - median],
        fmt="D",
        color="tab:red",
        capsize=4,
        zorder=4,
        label="target (median, 90%)",
    )
    ax.axvspan(runs["compute"].max(), high, color="0.92", zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    what = "one new run" if kind == "predictive" else "mean curve"
    ax.set_ylabel(f"final {quantity}")
    ax.set_title(f"{fc.law} law forecast ({what}); shaded: extrapolation")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig
