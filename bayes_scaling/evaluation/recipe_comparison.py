"""``RecipeComparison``: the recipes' forecasts and every answer that compares them.

Made by ``compare_recipes`` (``recipes.py``). The recipes' posteriors are independent, so a
pair of draws with the same index, one from each, is a draw from the joint posterior: every
answer here is a count or a quantile over those pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.forecast_result import KINDS
from bayes_scaling.evaluation.recipe_curves import flat_draws, median_crossings
from bayes_scaling.intervals import central_interval
from bayes_scaling.laws import get_law
from bayes_scaling.laws.pooled_loss import spread_summary
from bayes_scaling.output.plotting import predict_on_grid
from bayes_scaling.output.recipe_chart import difference_chart
from bayes_scaling.output.recipe_report import write_recipe_report

__all__ = ["RecipeComparison"]

GRID_POINTS = 60  # compute values the difference curves are drawn at


class RecipeComparison:
    """Forecasts of several recipes with one law, and the answers that compare them.

    "Better" means a lower loss, or a higher value for a law whose quantity rises with
    compute (pass rates, accuracy). ``kind="predictive"`` compares one new run of each
    recipe (run-to-run noise included), ``kind="mean"`` the recipes' mean curves.

    Attributes
    ----------
    forecasts : dict of str to Forecast
        One forecast per recipe, in the order the recipes first appear in the table.
    seed : int
        The comparison's seed; each recipe's own is in its forecast's ``settings``.
    recipe_column : str
        The column the recipes were read from.
    joint : Diagnostics or None
        Where pooled (else None): the joint model's sampler diagnostics, its population's included.
    population : dict of str to numpy.ndarray or None
        Where pooled (else None): draws of the population's spreads, which ``pooling`` summarises.
    """

    def __init__(self, forecasts: dict, seed: int, recipe_column: str = "family", joint=None, population=None):
        self.forecasts = dict(forecasts)
        self.seed = seed
        self.recipe_column = recipe_column
        self.joint = joint
        self.population = population
        first = next(iter(self.forecasts.values()))
        self.law = first.law
        self.rising = get_law(self.law).rising
        self.targets = np.asarray(first.targets, dtype=float)

    @property
    def recipes(self) -> list[str]:
        """The recipes, in the order they first appear in the table."""
        return list(self.forecasts)

    @property
    def pooled(self) -> bool:
        """Whether the recipes were fitted in one model with their curve shapes partially pooled."""
        return self.joint is not None

    def pooling(self, prob: float = 0.9) -> pd.DataFrame | None:
        """How far the recipes' curve shapes were pooled: each spread's prior median and posterior.

        Near 0: one shared shape; large: each recipe on its own (laws/pooled_loss.py).

        Parameters
        ----------
        prob : float, default 0.9
            The mass of the equal-tailed intervals.

        Returns
        -------
        pandas.DataFrame or None
            One row per spread (``exponent_spread``, ``fraction_spread``): ``prior_median``,
            ``median``, ``lower``, ``upper``; None where the recipes were fitted apart.

        Examples
        --------
        >>> cmp.pooling().round(3)
                         prior_median  median  lower  upper
        spread
        exponent_spread          0.15   0.117  0.052  0.260
        fraction_spread          0.30   0.258  0.118  0.560
        """
        return None if self.population is None else spread_summary(self.population, prob)

    @property
    def ok(self) -> bool:
        """Whether every recipe's sampler diagnostics passed (and the joint model's, where pooled)."""
        return all(fc.ok for fc in self.forecasts.values()) and (self.joint is None or self.joint.ok)

    def difference(self, a: str, b: str, kind: str = "predictive") -> np.ndarray:
        """Draws of ``a``'s quantity minus ``b``'s at each target, shape (n_draws, n_targets).

        Parameters
        ----------
        a, b : str
            Two recipes.
        kind : {"predictive", "mean"}, default "predictive"
            One new run of each, or the mean curves.

        Returns
        -------
        numpy.ndarray
            One row per posterior draw, one column per target.

        Raises
        ------
        ValueError
            When a recipe or ``kind`` is unknown, or the two forecasts hold different numbers of draws.

        Examples
        --------
        >>> np.median(cmp.difference("muon", "adamw"), axis=0)   # muon minus adamw
        array([-0.031])
        """
        first, second = self._draws(a, kind), self._draws(b, kind)
        if first.shape != second.shape:
            raise ValueError(f"recipes {a!r} and {b!r} were sampled with different numbers of draws ({first.shape[0]} and {second.shape[0]})")
        return first - second

    def prob_better(self, a: str, b: str, by: float = 0.0, kind: str = "predictive") -> pd.Series:
        """P(``a`` is better than ``b`` by at least ``by``) at each target.

        Parameters
        ----------
        a, b : str
            Two recipes.
        by : float, default 0.0
            The margin δ >= 0, in the quantity's units (loss, or pass rate).
        kind : {"predictive", "mean"}, default "predictive"
            One new run of each, or the mean curves.

        Returns
        -------
        pandas.Series
            Indexed by target compute.

        Raises
        ------
        ValueError
            When a recipe or ``kind`` is unknown, or ``by`` is negative or not finite.

        Examples
        --------
        >>> cmp.prob_better("muon", "adamw", by=0.01, kind="mean")
        1e+22    0.71
        dtype: float64
        """
        return self._per_target(self._share_better(self.difference(a, b, kind), by))

    def prob_best(self, kind: str = "predictive") -> pd.DataFrame:
        """P(each recipe is the best of all) at each target; rows sum to 1.

        Parameters
        ----------
        kind : {"predictive", "mean"}, default "predictive"
            One new run of each, or the mean curves.

        Returns
        -------
        pandas.DataFrame
            One row per target compute, one column per recipe.

        Examples
        --------
        >>> cmp.prob_best()
                  muon  adamw
        1e+22     0.93   0.07
        """
        stacked = np.stack([self._draws(name, kind) for name in self.recipes])  # (recipe, draw, target)
        best = stacked.argmax(axis=0) if self.rising else stacked.argmin(axis=0)
        shares = np.stack([(best == i).mean(axis=0) for i in range(len(self.recipes))], axis=1)
        return pd.DataFrame(shares, index=pd.Index(self.targets, name="compute"), columns=self.recipes)

    def to_frame(self, reference: str | None = None, prob: float = 0.9, kind: str = "predictive", by: float = 0.0) -> pd.DataFrame:
        """Each other recipe against ``reference`` at each target: the difference and P(better).

        Parameters
        ----------
        reference : str, optional
            The recipe the others are compared with; default the first.
        prob : float, default 0.9
            The central interval's probability.
        kind : {"predictive", "mean"}, default "predictive"
            One new run of each, or the mean curves.
        by : float, default 0.0
            A margin δ > 0 adds the column ``prob_better_by_δ``: P(the recipe beats the
            reference by at least δ).

        Returns
        -------
        pandas.DataFrame
            Columns ``compute``, ``recipe``, ``reference``, ``median_difference`` (recipe
            minus reference), ``lower``, ``upper``, ``prob_better`` (the recipe beats the
            reference), ``prob_best`` and, with ``by``, ``prob_better_by_δ``.

        Raises
        ------
        ValueError
            When ``reference`` or ``kind`` is unknown, or ``by`` is negative or not finite.

        Examples
        --------
        >>> cmp.to_frame().round(3)
           compute recipe reference  median_difference  lower  upper  prob_better  prob_best
        0  1.0e+22   muon     adamw             -0.031 -0.072  0.009        0.930      0.930
        """
        reference = self._reference(reference)
        best = self.prob_best(kind)
        rows = []
        for name in self.recipes:
            if name == reference:
                continue
            difference = self.difference(name, reference, kind)
            lower, upper = central_interval(difference, prob)
            better = self._share_better(difference)
            by_margin = self._share_better(difference, by) if by > 0 else None
            for i, compute in enumerate(self.targets):
                rows.append(
                    {
                        "compute": compute,
                        "recipe": name,
                        "reference": reference,
                        "median_difference": float(np.median(difference[:, i])),
                        "lower": float(lower[i]),
                        "upper": float(upper[i]),
                        "prob_better": float(better[i]),
                        "prob_best": float(best[name].iloc[i]),
                        **({f"prob_better_by_{by:g}": float(by_margin[i])} if by_margin is not None else {}),
                    }
                )
        return pd.DataFrame(rows)

    def difference_curves(self, reference: str | None = None, kind: str = "mean", grid=None) -> tuple[np.ndarray, dict]:
        """Draws of each other recipe minus ``reference`` along a compute grid (for the plot).

        Parameters
        ----------
        reference : str, optional
            The recipe the others are compared with; default the first.
        kind : {"mean", "predictive"}, default "mean"
            The mean curves, or one new run of each.
        grid : sequence of float, optional
            The compute values; default 60 log-spaced from the smallest fitted compute to the
            largest target.

        Returns
        -------
        tuple of (numpy.ndarray, dict of str to numpy.ndarray)
            The grid, and for each other recipe its draws minus the reference's, shape
            (n_draws, len(grid)).

        Examples
        --------
        >>> grid, curves = cmp.difference_curves()
        >>> curves["muon"].shape   # 4 chains × 1000 draws, 60 compute values
        (4000, 60)
        """
        reference = self._reference(reference)
        if kind not in KINDS:  # the forecasts' draws check it; these are drawn here
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if grid is None:
            smallest = min(fc.runs["compute"].min() for fc in self.forecasts.values())
            grid = np.geomspace(smallest, max(self.targets.max(), smallest * 10), GRID_POINTS)
        grid = np.asarray(grid, dtype=float)
        name = self.forecasts[reference].quantities[0]
        name = name if kind == "predictive" else f"mean_{name}"
        # each recipe's run noise its own (recipes fitted jointly share one seed)
        curves = {
            recipe: flat_draws(predict_on_grid(fc, grid, rng=np.random.default_rng([self.seed, 3, i]))[name], fc.bucket_labels)
            for i, (recipe, fc) in enumerate(self.forecasts.items())
        }
        return grid, {recipe: curves[recipe] - curves[reference] for recipe in self.recipes if recipe != reference}

    def crossings(self, reference: str | None = None, kind: str = "mean") -> pd.DataFrame:
        """Where a recipe's median difference from ``reference`` changes sign.

        Searched between the smallest fitted compute and the largest target, interpolated
        linearly in log compute.

        Parameters
        ----------
        reference : str, optional
            The recipe the others are compared with; default the first.
        kind : {"mean", "predictive"}, default "mean"
            The mean curves, or one new run of each.

        Returns
        -------
        pandas.DataFrame
            One row per crossing: ``recipe``, ``reference``, ``compute`` and
            ``better_above`` (whether the recipe is the better one above that compute).

        Examples
        --------
        >>> cmp.crossings()
          recipe reference       compute  better_above
        0   muon     adamw  3.261437e+18          True
        """
        reference = self._reference(reference)
        return median_crossings(*self.difference_curves(reference, kind), reference, self.rising)

    def plot(self, path=None, reference: str | None = None, kind: str = "mean", ax=None):
        """Each recipe minus ``reference`` against compute, with 50% and 90% bands.

        Also drawn: the zero line, a ring at each crossing, the targets and, shaded, beyond the
        largest fitted compute.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to save the figure (PNG, SVG, PDF...); default: return it unsaved.
        reference : str, optional
            The recipe the others are compared with; default the first.
        kind : {"mean", "predictive"}, default "mean"
            The mean curves, or one new run of each (wider: run noise of both).
        ax : matplotlib.axes.Axes, optional
            Draw into these axes instead of a new figure.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> cmp.plot("recipes.png", reference="adamw")
        <Figure size 825x528 with 1 Axes>
        """
        reference = self._reference(reference)
        grid, curves = self.difference_curves(reference, kind)
        fitted_max = max(fc.runs["compute"].max() for fc in self.forecasts.values())
        label = f"{self.forecasts[reference].quantities[0]}: recipe − {reference}"
        return difference_chart(grid, curves, median_crossings(grid, curves, reference, self.rising), self.targets, fitted_max, label, self.rising, path=path, ax=ax)

    def report(self, path, reference: str | None = None, by: float = 0.0):
        """Write the comparison's report (``.html``, self-contained, or ``.md`` with its figure beside it).

        Parameters
        ----------
        path : str or os.PathLike
            Ends in ``.html`` or ``.md``.
        reference : str, optional
            The recipe the others are compared with; default the first.
        by : float, default 0.0
            A margin δ: the tables add P(better by at least δ) when it is above 0.

        Returns
        -------
        pathlib.Path
            The report's path.

        Raises
        ------
        ValueError
            When ``path`` has another suffix, or ``reference`` is not a recipe.

        Examples
        --------
        >>> cmp.report("recipes.html", by=0.01)
        PosixPath('recipes.html')
        """
        return write_recipe_report(self, path, reference=self._reference(reference), by=by)

    def __repr__(self) -> str:
        failed = [name for name, fc in self.forecasts.items() if not fc.ok] + (["the joint model"] if self.joint is not None and not self.joint.ok else [])
        health = "ok" if self.ok else "FAILED diagnostics: " + ", ".join(failed)
        frame = self.prob_best().to_string(float_format=lambda v: f"{v:.3f}")
        fit = "fitted jointly, curve shapes pooled" if self.pooled else "fitted apart"
        return f"RecipeComparison of {len(self.recipes)} recipes ({self.law} law, {fit}, seed {self.seed}; sampler {health})\nP(best), one new run of each:\n{frame}"

    # -- helpers -----------------------------------------------------------------------------
    def _draws(self, name: str, kind: str) -> np.ndarray:
        if name not in self.forecasts:
            raise ValueError(f"recipe must be one of {self.recipes}, got {name!r}")
        return self.forecasts[name].draws(kind)  # which checks ``kind``

    def _reference(self, reference: str | None) -> str:
        if reference is not None and reference not in self.forecasts:
            raise ValueError(f"reference must be one of {self.recipes}, got {reference!r}")
        return self.recipes[0] if reference is None else reference

    def _share_better(self, difference: np.ndarray, by: float = 0.0) -> np.ndarray:
        """Per target, the share of draws of ``difference`` (a minus b) in which a beats b by more than ``by``."""
        if not np.isfinite(by) or by < 0:
            raise ValueError(f"by must be a finite margin >= 0, got {by!r}")
        gain = difference if self.rising else -difference  # > 0: a is better
        return (gain > by).mean(axis=0)

    def _per_target(self, values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.targets, name="compute"))

