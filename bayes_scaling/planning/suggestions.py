"""``RunSuggestions``, what ``suggest_runs`` returns: the ranked candidates, the plan within the budget, a chart."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd



@dataclass(repr=False)
class RunSuggestions:
    """Candidate runs ranked by the expected narrowing of the target's interval per FLOP, and a plan.

    Made by ``bs.suggest_runs``; the widths are expectations over the outcomes the forecast's
    posterior thinks each run could have.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per candidate, best first: ``candidate`` (its position in the candidates
        given), ``compute`` (its cost; with ``params`` and ``tokens``
        for ``"chinchilla"``), ``width_after`` (expected width of the interval with that run
        alone added), ``shrinkage`` (today's width minus that) and, for ``"reweight"``, its
        Monte Carlo standard error ``shrinkage_se``, ``shrinkage_share``,
        ``shrinkage_per_eflop`` (per 10^18 FLOPs), ``clear`` (the narrowing is clear of the
        Monte Carlo error, 2 standard errors; these rank first),
        ``pareto_k`` (``"reweight"``: median over the simulated outcomes; above 0.7 the
        reweighting is unreliable, use ``"linear"`` or refit to check) and ``affordable`` (within ``budget``).
    plan : pandas.DataFrame
        The runs to train, in the order chosen: the compute ``spent`` so far, the expected
        ``width_after`` all runs so far, the ``shrinkage`` this run adds (with ``shrinkage_se``)
        and ``shrinkage_share``, today's width removed so far. A run joins only where its
        narrowing is clear of the Monte Carlo error.
    width_now : float
        Today's width of the interval.
    target, budget, prob, kind, law, method, seed, simulations
        What was asked: the target compute, the budget in FLOPs, the interval's probability and
        kind, the forecast's law, the update ``method``, and for ``"reweight"`` the seed of the
        simulated outcomes and their number.

    Examples
    --------
    >>> plan = bs.suggest_runs(fc, budget=3e20, candidates=[1e19, 3e19, 1e20, 3e20])
    >>> print(plan)       # today's width, the plan and what it is expected to leave
    >>> plan.plot("design.png")
    """

    candidates: pd.DataFrame
    plan: pd.DataFrame
    width_now: float
    target: float
    budget: float
    kind: str
    prob: float
    law: str
    fitted: pd.DataFrame  # the forecast's fitted runs, for the chart
    seed: int
    method: str
    simulations: int

    def to_frame(self) -> pd.DataFrame:
        """The ranked candidates (``candidates``), a copy.

        Returns
        -------
        pandas.DataFrame
            One row per candidate, best first (see ``candidates``).

        Examples
        --------
        >>> plan.to_frame().head(3)
        """
        return self.candidates.copy()

    def plot(self, path=None, ax=None):
        """Expected width after each candidate run alone, today's width, and the plan's runs, numbered.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to save the figure (format from the suffix).
        ax : matplotlib.axes.Axes, optional
            Draw into these axes instead of a new figure.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> plan.plot("design.png")
        """
        from bayes_scaling.output.run_design_chart import run_design_chart

        label = f"{self.prob:.0%} interval width at {_flops(self.target)} ({'one new run' if self.kind == 'predictive' else 'mean curve'})"
        return run_design_chart(self.candidates, self.plan, self.width_now, self.fitted["compute"], self.target, label, path=path, ax=ax)

    def __repr__(self) -> str:
        what = "one new run" if self.kind == "predictive" else "the mean curve"
        lines = [
            f"RunSuggestions: {self.prob:.0%} interval of {what} at {_flops(self.target)}, "
            f"today {self.width_now:.4g} wide; budget {_flops(self.budget)}",
        ]
        if len(self.plan):
            last = self.plan.iloc[-1]
            lines.append(
                f"plan: {len(self.plan)} run(s), {_flops(last['spent'])} in all, expected width {last['width_after']:.4g} "
                f"({last['shrinkage_share']:.0%} narrower)"
            )
            for order, row in enumerate(self.plan.itertuples(), start=1):
                lines.append(f"  {order}. a run at {_flops(row.compute)} -> {row.width_after:.4g}")
        else:
            lines.append("plan: no affordable candidate narrows the interval")
        return "\n".join(lines)


def _flops(value: float) -> str:
    return f"{float(value):.3g} FLOPs"
