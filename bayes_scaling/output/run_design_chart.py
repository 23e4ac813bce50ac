"""The run-design figure: the target's expected interval width after each candidate run, against its compute.

Read it left to right: where the points dip furthest below the dashed line (today's width) a run
narrows the forecast most; the plan's runs are numbered in the order it adds them, and the
ticks along the bottom are the runs already fitted.
"""

from __future__ import annotations

import numpy as np

from bayes_scaling.output.plotting import finish, subplots


def run_design_chart(candidates, plan, width_now: float, fitted_compute, target: float, label: str, path=None, ax=None):
    """``candidates``: compute, width_after, shrinkage_se (NaN: no Monte Carlo error, no bar), affordable;
    ``plan``: compute, width_after (in order)."""
    if ax is None:
        fig, ax = subplots(path, figsize=(7.5, 4.8))
    else:
        fig = ax.figure
    affordable = candidates["affordable"].to_numpy(dtype=bool)
    for mask, colour, name in ((affordable, "#1f4e79", "one run alone"), (~affordable, "0.6", "one run alone, over budget")):
        if mask.any():
            se = candidates["shrinkage_se"][mask].fillna(0.0)
            ax.errorbar(candidates["compute"][mask], candidates["width_after"][mask], yerr=2 * se if se.any() else None,
                        fmt="o", color=colour, ms=5, capsize=2, label=name)
    ax.axhline(width_now, color="black", ls="--", lw=1.0, label="today's width")
    if len(plan):
        ax.plot(plan["compute"], plan["width_after"], color="#b3541e", marker="s", ms=7, lw=0, label="the plan, after each run")
        for order, (compute, width) in enumerate(zip(plan["compute"], plan["width_after"]), start=1):
            ax.annotate(str(order), (compute, width), textcoords="offset points", xytext=(6, -10), color="#b3541e", fontsize=9)
    # along the bottom edge, in axes coordinates: ticks, not points of the width scale
    ax.plot(np.asarray(fitted_compute, dtype=float), np.full(len(fitted_compute), 0.03), "|", color="0.3", ms=12,
            transform=ax.get_xaxis_transform(), label="fitted runs")
    ax.axvline(target, color="tab:red", ls=":", lw=1.2, label="target")
    ax.set_xscale("log")
    ax.set_xlabel("compute of the candidate run (FLOPs, its cost)")
    ax.set_ylabel(label)
    bars = " (bars: ±2 Monte Carlo se)" if candidates["shrinkage_se"].notna().any() else ""
    ax.set_title(f"expected interval width at the target after new runs{bars}", fontsize=9)
    return finish(fig, ax, path)
