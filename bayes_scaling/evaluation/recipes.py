"""Which recipe wins at the target, and how sure is that: ``compare_recipes``.

A table whose runs come from several recipes (a ``family`` column: two optimisers, two data
mixes, deduplicated or not) is fitted with one law, in one of two ways:

- **pooled** (the loss law's default): one joint model (laws/pooled_loss.py) in which each
  recipe has its own curve, but the slopes and reducible fractions of the recipes' curves are
  drawn from a shared population, so recipes that bend alike in the data are expected to bend
  alike beyond it, as far as the data allow. One posterior covers every recipe.
- **apart** (every other law, and ``pooled=False``): each recipe's ladder gets its own forecast
  with the same law, settings and priors, each with its own seed. The posteriors are
  independent, so pairing their draws by index is a draw from the joint posterior.

Either way every answer is a count over draws with the same index: the difference between two
recipes at each target, P(a recipe is the best), P(A beats B by at least δ). docs/recipes.md
gives how P(better) computed both ways scored on the public ladders (Porian et al.'s five
configurations, Pythia standard against deduplicated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.evaluation.recipe_comparison import RecipeComparison
from bayes_scaling.forecast import checked_seed, finish_forecast, forecast
from bayes_scaling.inference import nuts
from bayes_scaling.checks.curvature import warn_if_bending
from bayes_scaling.inference.diagnostics import diagnose, warn_if_unhealthy
from bayes_scaling.laws import get_law, pooled_loss, prior_descriptions
from bayes_scaling.tables import DataError
from bayes_scaling.tables.evaluations import has_repeated_evaluations

POOLABLE = ("loss",)  # the laws with a joint model of several recipes
SAMPLER_OPTIONS = ("draws", "tune", "chains", "target_accept")

__all__ = ["RecipeComparison", "compare_recipes"]


def compare_recipes(data, target, recipe: str = "family", law: str = "loss", pooled: bool | None = None,
                    seed: int | None = None, progress: bool = True, **forecast_options):
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
    pooled : bool, optional
        Fit the recipes in one model whose curve shapes are partially pooled (the loss law
        only; laws/pooled_loss.py), or each on its own. Default: pooled for ``"loss"`` unless
        ``prior`` or ``extrapolation_error`` is given (the joint model takes neither), apart
        for every other law.
    seed : int, optional
        A non-negative integer; each recipe's forecast gets a seed spawned from it. Default:
        a drawn one, recorded in ``seed``.
    progress : bool, default True
        Show each fit's progress.
    **forecast_options
        Passed to every ``bs.forecast`` (``prior``, ``draws``, ``chains``,
        ``extrapolation_error``...); the pooled fit takes ``draws``, ``tune``, ``chains`` and
        ``target_accept``.

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
        When ``seed`` is not a non-negative integer, an option is invalid for the law, or
        ``pooled=True`` is asked of a law other than ``"loss"`` or with an option the joint
        model does not take.

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
    joint = _pooling(chosen, pooled, forecast_options)  # before reading: the refusal needs no table
    table = chosen.load(data)
    if recipe not in table.columns:
        raise DataError(f"no {recipe!r} column naming each run's recipe; the table has columns {list(table.columns)}")
    names = [str(name) for name in pd.unique(table[recipe].astype(str))]
    if len(names) < 2:
        raise DataError(f"column {recipe!r} names one recipe ({names[0]!r}); a comparison needs at least two")
    seed = checked_seed(seed)
    if joint:
        return _compare_pooled(chosen, table, names, recipe, target, seed, progress, forecast_options)
    seeds = np.random.SeedSequence(seed).generate_state(len(names))
    forecasts = {}
    for name, recipe_seed in zip(names, seeds):
        rows = _rows_of(table, recipe, name)
        try:
            forecasts[name] = forecast(rows, target, law=law, seed=int(recipe_seed), progress=progress, **forecast_options)
        except DataError as error:
            raise DataError(f"recipe {name!r} ({recipe} == {name!r}, {len(rows)} rows): {error}") from error
    return RecipeComparison(forecasts, seed=seed, recipe_column=recipe)


def _pooling(law, pooled: bool | None, options: dict) -> bool:
    """Whether to fit the recipes jointly: what was asked, or the default (see ``pooled``)."""
    # the loss law's default extrapolation_error=False is the joint model's too
    others = sorted(name for name, value in options.items()
                    if name not in SAMPLER_OPTIONS and not (name == "extrapolation_error" and value in (None, False)))
    if pooled is None:
        return law.name in POOLABLE and not others
    if pooled and law.name not in POOLABLE:
        raise ValueError(f"pooled=True: only the {' and '.join(repr(name) for name in POOLABLE)} law has a joint model of several recipes, not {law.name!r}; use pooled=False")
    if pooled and others:
        raise ValueError(f"pooled=True: the joint model of the recipes does not take {others}; use pooled=False to fit each recipe with them")
    return bool(pooled)


def _rows_of(table: pd.DataFrame, recipe: str, name: str) -> pd.DataFrame:
    return table[table[recipe].astype(str) == name].reset_index(drop=True)


def _compare_pooled(law, table, names, recipe, target, seed, progress, options) -> RecipeComparison:
    """One joint NUTS fit of every recipe (laws/pooled_loss.py), then one loss-law ``Forecast``
    per recipe from its slice of the posterior: draws with one index are one joint draw."""
    recipe_tables, recipe_targets = {}, {}
    for name in names:  # each recipe's rows and targets checked as its own forecast would check them
        rows = _rows_of(table, recipe, name)
        try:
            recipe_tables[name] = law.load(rows.drop(columns=[recipe]))
            recipe_targets[name] = law.check_targets(recipe_tables[name], target, stacklevel=4)
        except DataError as error:
            raise DataError(f"recipe {name!r} ({recipe} == {name!r}, {len(rows)} rows): {error}") from error
    every_run = pd.concat([frame.assign(**{recipe: name}) for name, frame in recipe_tables.items()], ignore_index=True)
    if has_repeated_evaluations(every_run):
        raise DataError("the joint model of the recipes fits one evaluation per run, and this table has runs evaluated more than once "
                        "(its 'evaluation' column): use pooled=False, which fits each recipe with the loss law's split noise")
    fit_table, compute_ref = pooled_loss.prepare(every_run, recipe, names)
    defaults = {"draws": 1000, "tune": pooled_loss.TUNE, "chains": 4, "target_accept": pooled_loss.TARGET_ACCEPT}
    given = {name: options[name] if options.get(name) is not None else default for name, default in defaults.items()}
    settings = nuts.SamplerSettings(**given, seed=seed, progress=progress, dense_mass=True, log_likelihood=True)
    model = pooled_loss.build_model(fit_table, len(names), compute_ref)
    idata = nuts.sample(model, settings, key=("pooled_loss",))
    diagnostics = diagnose(idata, list(pooled_loss.DIAGNOSED + pooled_loss.OFFSETS))
    warn_if_unhealthy(diagnostics)  # every variable of the joint model, each recipe's among them
    priors = {**prior_descriptions(law, {}), **pooled_loss.PRIOR_DESCRIPTIONS}
    forecasts = {}
    for r, name in enumerate(names):
        rows = fit_table["recipe_index"].to_numpy() == r
        recipe_idata = pooled_loss.recipe_idata(idata, r, rows)
        prepared = law.prepare(recipe_tables[name])  # the loss law's options, at the shared C_ref
        pooled_with = [other for other in names if other != name]
        prepared = prepared._replace(options={**prepared.options, "compute_ref": compute_ref, "pooled_with": pooled_with})
        forecasts[name] = finish_forecast(  # its sampler diagnostics are part of the joint ones, warned of above
            recipe_idata, law, recipe_tables[name], recipe_targets[name], prepared, settings, {},
            priors=priors, prior_overrides={}, rng=np.random.default_rng([seed, 1, r]),
        )
        warn_if_bending(forecasts[name])
    population = {name: idata.posterior[name].to_numpy() for name in pooled_loss.SPREAD_SCALES}  # what pooling() reads
    return RecipeComparison(forecasts, seed=seed, recipe_column=recipe, joint=diagnostics, population=population)
