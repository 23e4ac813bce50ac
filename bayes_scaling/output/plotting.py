"""Figures people look at: the fan chart of a loss forecast, the bucket chart of pass rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_scaling.intervals import interval_columns
from bayes_scaling.laws import get_law
from bayes_scaling.inference.thinning import thin_posterior

_DPI = 110  # screen resolution of every chart; savefig keeps it
_GRID = 120
# the fan chart's bands: light, mid and dark blue, far apart in lightness (grey print keeps them apart)
_PALE, _MID, _DARK = "#d2e3f3", "#6a9fd0", "#1f4e79"


def fan_chart(fc, path=None, ax=None, kind: str = "predictive", thresholds=(), actual=None):
    """Data, median curve and 50%/90% bands from the smallest compute out to the targets.

    Bands are equal-tailed, like ``Forecast.interval``; ``kind="mean"`` draws the bands
    of the mean curve, ``"predictive"`` those of one new run (which include run noise).
    The 50% band is dark and edged, the 90% band pale with dashed edges, so the two read
    apart in grey print too; each threshold is a labelled horizontal line. Returns the
    matplotlib Figure; writes it to ``path`` when given. ``actual``: runs measured after the
    forecast (a table with ``compute`` and the forecast quantity), drawn as stars, so a
    registered forecast can be shown against what came in. Per-bucket laws get
    ``bucket_chart`` instead.
    """
    if fc.bucket_labels is not None:
        return bucket_chart(fc, path=path)
    quantity = fc.quantities[0]
    runs = fc.runs
    grid = _grid(fc)
    predicted = predict_on_grid(fc, grid)
    draws = predicted[quantity if kind == "predictive" else f"mean_{quantity}"].reshape(-1, grid.size)
    q = interval_columns(draws)
    q05, q25, q50, q75, q95 = q["lower_90"], q["lower_50"], q["median"], q["upper_50"], q["upper_90"]

    if ax is None:
        fig, ax = subplots(path, figsize=(7.5, 4.8))
    else:
        fig = ax.figure
    ax.fill_between(grid, q05, q95, color=_PALE, lw=0, label="90% interval")
    for edge in (q05, q95):
        ax.plot(grid, edge, color=_DARK, lw=0.8, ls="--")
    ax.fill_between(grid, q25, q75, color=_MID, edgecolor=_DARK, lw=0.8, label="50% interval")
    ax.plot(grid, q50, color=_DARK, lw=1.8, label="median")
    for threshold in np.atleast_1d(thresholds if thresholds is not None else []):
        ax.axhline(float(threshold), color="tab:red", ls="--", lw=1.3, zorder=2, label=f"threshold {float(threshold):g}")
    ax.scatter(runs["compute"], runs[quantity], color="black", s=18, zorder=3, label="fitted runs")
    if actual is not None:
        missing = [name for name in ("compute", quantity) if name not in actual]
        if missing:
            raise ValueError(f"actual needs the columns 'compute' and {quantity!r}; it has no {missing[0]!r}")
        ax.scatter(actual["compute"], actual[quantity], marker="*", s=110, color="crimson", zorder=5,
                   label="measured after the forecast")
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
    ax.axvspan(runs["compute"].max(), grid[-1], color="0.92", zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    what = "one new run" if kind == "predictive" else "mean curve"
    ax.set_ylabel(f"final {quantity}")
    ax.set_title(f"{fc.law} law forecast ({what}); shaded: extrapolation")
    return finish(fig, ax, path, legend="upper right")


def bucket_chart(fc, path=None, quantity: str = "pass_rate"):
    """One panel per difficulty bucket (and all kept problems): observed mean pass rates of
    the fitted runs, and the posterior median with 50%/90% bands out to the targets."""
    from bayes_scaling.buckets import observed_bucket_rates

    labels = fc.bucket_labels
    grid = _grid(fc)
    predicted = predict_on_grid(fc, grid, max_draws=400)[quantity]  # (chain, draw, grid, bucket)
    draws = predicted.reshape(-1, grid.size, len(labels))
    observed = observed_bucket_rates(fc.runs, _assignment(fc.buckets))
    columns = min(4, len(labels))
    rows = int(np.ceil(len(labels) / columns))
    fig, axes = subplots(path, rows, columns, figsize=(3.4 * columns, 2.8 * rows), squeeze=False, sharex=True)
    for i, (ax, label) in enumerate(zip(axes.flat, labels)):
        q = interval_columns(draws[..., i])
        q05, q25, q50, q75, q95 = q["lower_90"], q["lower_50"], q["median"], q["upper_50"], q["upper_90"]
        ax.fill_between(grid, q05, q95, color="tab:green", alpha=0.18, lw=0)
        ax.fill_between(grid, q25, q75, color="tab:green", alpha=0.35, lw=0)
        ax.plot(grid, q50, color="tab:green", lw=1.6)
        points = observed[observed["bucket"] == label]
        ax.scatter(points["compute"], points[quantity], color="black", s=12, zorder=3)
        lower, upper = (np.atleast_1d(v) for v in fc.interval(0.9, quantity=quantity, bucket=label))
        median = np.median(fc.draws(quantity=quantity, bucket=label), axis=0)
        ax.errorbar(fc.targets, median, yerr=[median - lower, upper - median], fmt="D", color="tab:red", ms=4, capsize=3, zorder=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title("all kept problems" if label == "all" else f"bucket {label}" + (" (easiest)" if label == "1" else ""), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    fig.supxlabel("training compute C (FLOPs)", fontsize=9)
    fig.supylabel(f"mean {quantity} (log scale)", fontsize=9)
    fig.suptitle("pass-rate law by difficulty bucket: runs (dots), median and 50/90% bands, targets (red)", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig


def calibration_chart(result, path=None, ax=None):
    """A backtest's observed coverage of central intervals against the nominal level.

    On the diagonal the intervals hold their stated coverage; below it they are too
    narrow. Computed from each held-out run's PIT, so every level comes from one fit.
    """
    if ax is None:
        fig, ax = subplots(path, figsize=(4.8, 4.5))
    else:
        fig = ax.figure
    curve = result.coverage_curve()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", lw=1, label="calibrated")
    ax.plot(curve["nominal"], curve["observed"], marker="o", ms=3, label=f"{result.law} ({result.method})")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="nominal coverage of the central interval")
    ax.set_ylabel(f"observed coverage ({len(result.frame)} held-out runs)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig


def subplots(path, nrows: int = 1, ncols: int = 1, figsize=None, **options):
    """(figure, axes). A figure that only goes to a file is a bare ``Figure``, drawn by Agg without
    pyplot, so no backend is chosen or switched (CI and servers have no display); otherwise a
    pyplot figure, which a notebook or an interactive session shows."""
    if path is not None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize, dpi=_DPI)
        return figure, figure.subplots(nrows, ncols, **options)
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=figsize, dpi=_DPI, **options)


def finish(fig, ax, path=None, legend: str = "best"):
    """The charts' common last steps: a light grid, a small legend, a tight layout, and the file."""
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc=legend, fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path))
    return fig


def _grid(fc) -> np.ndarray:
    compute = fc.runs["compute"]
    return np.geomspace(min(compute.min(), fc.targets.min()), max(compute.max(), fc.targets.max()), _GRID)


def predict_on_grid(fc, grid, max_draws=None, rng=None) -> dict:
    """The law's draws at compute ``grid`` from ``fc``'s posterior; the run noise from ``rng``,
    by default seeded with the forecast's own seed."""
    law = get_law(fc.law)
    rng = np.random.default_rng(fc.settings["seed"]) if rng is None else rng
    posterior = fc.idata.posterior if max_draws is None else thin_posterior(fc.idata.posterior, max_draws)
    return law.predict(posterior, fc.idata.constant_data, fc.settings["options"], grid, rng)


def _assignment(buckets):
    """The per-problem table saved with a forecast, in ``assign_buckets``' form."""
    import pandas as pd

    bucket = buckets["bucket"].astype(int)
    return pd.DataFrame(
        {
            "problem": buckets["problem"].astype(str),
            "score": buckets["difficulty_score"],
            "bucket": pd.array(bucket.where(bucket > 0), dtype="Int64"),
            "excluded": bucket.eq(0),
        }
    )
