"""The recipe comparison's figure: each recipe minus a reference, against compute.

Where the band clears zero the data say which recipe is better there; where the median crosses
zero the recipes swap places. Shaded: beyond the largest fitted compute (extrapolation).
"""

from __future__ import annotations

import numpy as np

from bayes_scaling.intervals import interval_columns
from bayes_scaling.output.plotting import finish, subplots

_COLOURS = ("#1f4e79", "#b3541e", "#2d7d46", "#7b3294", "#8c6d1f")


def difference_chart(grid, curves: dict, crossings, targets, fitted_max: float, label: str, rising: bool, path=None, ax=None):
    """Median and 50%/90% bands of each ``curves[recipe]`` (draws × grid), the zero line,
    ``crossings`` (a frame with ``recipe`` and ``compute``) and the ``targets``."""
    if ax is None:
        fig, ax = subplots(path, figsize=(7.5, 4.8))
    else:
        fig = ax.figure
    for i, (name, draws) in enumerate(curves.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        q = interval_columns(draws)
        ax.fill_between(grid, q["lower_90"], q["upper_90"], color=colour, alpha=0.15, lw=0)
        ax.fill_between(grid, q["lower_50"], q["upper_50"], color=colour, alpha=0.35, lw=0)
        ax.plot(grid, q["median"], color=colour, lw=1.8, label=f"{name} (median, 50% and 90% bands)")
        for compute in crossings.loc[crossings["recipe"] == name, "compute"]:
            ax.plot([compute], [0.0], marker="o", ms=8, mfc="white", mec=colour, mew=2, zorder=4)
    ax.axhline(0.0, color="black", lw=1.0)
    for target in np.atleast_1d(targets):
        ax.axvline(float(target), color="tab:red", ls=":", lw=1.2)
    ax.axvspan(fitted_max, grid[-1], color="0.92", zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel(label)
    better = "above" if rising else "below"
    ax.set_title(f"recipe differences; {better} zero: better than the reference; shaded: extrapolation", fontsize=9)
    return finish(fig, ax, path)
