"""Which recipe wins at the target, and how sure is that: ``compare_recipes``.

A table whose runs come from several recipes (a ``family`` column: two optimisers, two data
mixes, deduplicated or not) is split by recipe and each recipe's ladder gets its own forecast
with the same law, settings and priors. The recipes' posteriors are independent, so pairing
their draws by index is a draw from the joint posterior, and every answer is a count over those
pairs: the difference between two recipes at each target, P(a recipe is the best), P(A beats B
by at least δ). Each recipe gets its own seed (spawned from the comparison's), so one recipe's
run noise is not reused for another's.

Fitting the recipes apart is the conservative choice: it assumes nothing shared between them,
so the difference carries both recipes' full extrapolation uncertainty. docs/recipes.md gives
how P(better) computed this way scored on the public ladders (Porian et al.'s five
configurations, Pythia standard against deduplicated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.evaluation.recipe_comparison import RecipeComparison
from bayes_scaling.forecast import checked_seed, forecast
from bayes_scaling.laws import get_law
from bayes_scaling.tables import DataError

__all__ = ["RecipeComparison", "compare_recipes"]


def compare_recipes(data, target, recipe: str = "family", law: str = "loss", seed: int | None = None, progress: bool = True, **forecast_options):
    """Forecast each recipe's ladder with one law and compare them at ``target``.

    Parameters
    ----------
    data : str, os.PathLike or pandas.DataFrame
        The law's table (``load_runs`` for ``"loss"``) with a column naming each row's
        recipe.
    target : float or sequence of float
        The compute to compare the recipes at (FLOPs).
    recipe : str, default "family"
        The column that names the recipe of each row.
    law : str, default "loss"
        The law every recipe is fitted with (``bs.forecast``'s ``law``).
    seed : int, optional
        A non-negative integer; each recipe's forecast gets a seed spawned from it. Default:
        a drawn one, recorded in ``seed``.
    progress : bool, default True
        Show each fit's progress.
    **forecast_options
        Passed to every ``bs.forecast`` (``prior``, ``draws``, ``chains``,
        ``extrapolation_error``...).

    Returns
    -------
    RecipeComparison
        The recipes' forecasts and the comparisons between them.

    Raises
    ------
    DataError
        When the table has no ``recipe`` column, fewer than two recipes, or a recipe's
        ladder is not one the law can fit (the message names the recipe).
    ValueError
        When ``seed`` is not a non-negative integer, or an option is invalid for the law.

    See Also
    --------
    forecast, compare

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> runs = bs.load_runs("two_recipes.csv")   # compute, loss, family
    >>> cmp = bs.compare_recipes(runs, target=1e22, seed=0)
    >>> cmp.prob_better("muon", "adamw")          # P(muon's loss is lower) at each target
    1e+22    0.93
    dtype: float64
    """
    chosen = get_law(law)
    table = chosen.load(data)
    if recipe not in table.columns:
        raise DataError(f"no {recipe!r} column naming each run's recipe; the table has columns {list(table.columns)}")
    names = [str(name) for name in pd.unique(table[recipe].astype(str))]
    if len(names) < 2:
        raise DataError(f"column {recipe!r} names one recipe ({names[0]!r}); a comparison needs at least two")
    seed = checked_seed(seed)
    seeds = np.random.SeedSequence(seed).generate_state(len(names))
    forecasts = {}
    for name, recipe_seed in zip(names, seeds):
        rows = table[table[recipe].astype(str) == name].reset_index(drop=True)
        try:
            forecasts[name] = forecast(rows, target, law=law, seed=int(recipe_seed), progress=progress, **forecast_options)
        except DataError as error:
            raise DataError(f"recipe {name!r} ({recipe} == {name!r}, {len(rows)} rows): {error}") from error
    return RecipeComparison(forecasts, seed=seed, recipe_column=recipe)
