"""The report's own figures, the predictive histograms and the fitted runs' residuals, and PNG encoding.

Apart from ``plotting`` (the charts people draw themselves) because only the report shows
these; they make their figures with ``plotting.subplots``, so, going to a file, they are
drawn without pyplot and switch no matplotlib backend.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from bayes_scaling.intervals import central_interval
from bayes_scaling.laws import get_law
from bayes_scaling.output.plotting import subplots


def predictive_figure(fc, thresholds, path):
    """Histograms of the predictive draws at each target, with the thresholds; ``path`` is the
    report the figure goes into."""
    draws = fc.draws("predictive")
    quantity = fc.quantities[0]
    fig, axes = subplots(path, 1, len(fc.targets), figsize=(4.2 * len(fc.targets), 3.2), squeeze=False)
    for ax, column, compute in zip(axes[0], draws.T, fc.targets):
        ax.hist(column, bins=60, color="tab:blue", alpha=0.7)
        lo, hi = central_interval(column, 0.9)
        ax.axvspan(lo, hi, color="tab:blue", alpha=0.12, label="90% interval")
        ax.axvline(np.median(column), color="tab:blue", lw=2, label="median")
        for threshold in thresholds:
            ax.axvline(threshold, color="tab:red", ls="--", lw=1.5)
            ax.text(threshold, ax.get_ylim()[1] * 0.92, f" {threshold:g}", color="tab:red", fontsize=8)
        ax.set_title(f"C = {compute:.3g} FLOPs", fontsize=10)
        ax.set_xlabel(f"{quantity} of one new run" + (" (all kept problems)" if fc.bucket_labels else ""))
        ax.set_yticks([])
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def residual_figure(fc, check: pd.DataFrame, path):
    """The posterior-predictive check: each fitted run's residual from the median curve, with the
    90% predictive interval of one run there, against compute. ``path`` is the report the figure
    goes into."""
    quantity = get_law(fc.law).observed
    fig, ax = subplots(path, figsize=(7.5, 3.2))
    scale = check["median"].to_numpy()
    lower = (check["lower_90"].to_numpy() / scale - 1) * 100
    upper = (check["upper_90"].to_numpy() / scale - 1) * 100
    order = np.argsort(check["compute"].to_numpy())
    compute = check["compute"].to_numpy()[order]
    ax.fill_between(compute, lower[order], upper[order], color="tab:blue", alpha=0.2, lw=0, label="90% interval of one run")
    ax.axhline(0, color="tab:blue", lw=1.5, label="median curve")
    inside = check["inside_90"].to_numpy()
    ax.scatter(check["compute"][inside], check["residual_pct"][inside], color="black", s=18, zorder=3, label="run, inside")
    ax.scatter(check["compute"][~inside], check["residual_pct"][~inside], color="tab:red", marker="x", s=30, zorder=3,
               label="run, outside")
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel(f"{quantity}: observed / curve − 1 (%)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes; a pyplot figure (``fc.plot``'s) is closed once saved."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    if fig.canvas.manager is not None:  # a pyplot figure (fc.plot's): let pyplot forget it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buffer.getvalue()
