"""The loss law for several recipes at once, their curves' shapes partially pooled.

Why: recipes trained on one architecture and one data set tend to bend together. Fitted apart,
each recipe's curve carries its full extrapolation uncertainty, as if the two could bend
independently beyond the data, so their difference at the target is less certain than it is
(benchmarks/recipes.py: a stated P(better) of 0.68 won 89% of the time). Here every recipe ``r``
has its own loss law ``L_r(C) = a_r·C^(b_r) + c_r`` in the loss law's coordinates
(laws/loss.py), at one reference compute ``C_ref`` shared by all recipes (the geometric mean of
every fitted run), and the two numbers that shape its curve are drawn from a shared population::

    log local_exponent_r      = exponent_centre + exponent_spread · z_r
    logit reducible_fraction_r = fraction_centre + fraction_spread · w_r,   z_r, w_r ~ N(0, 1)

The level ``loss_ref_r`` and the run noise ``sigma_r`` are each recipe's own, with the loss
law's default priors. Where the data pin a recipe's curve, its own data decide; where they do
not (the reducible fraction, which sets how far the curve bends beyond the data), the recipes
share what the others know, as far as the spreads allow. The spreads have half-normal priors
(``POOLING_PRIORS``); a spread of 0 is one shared curve shape, a large spread is the recipes
fitted apart. The centres' priors are the loss law's defaults, so with a large spread each
recipe's prior is the unpooled law's.

``recipe_posterior`` slices the joint posterior into one recipe's draws under the loss law's
names, so each recipe's forecast is an ordinary loss-law ``Forecast`` and draws with the same
index across recipes are one draw of the joint posterior.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.stats import gmean

from bayes_scaling.intervals import central_interval
from bayes_scaling.laws.law import DefaultPrior
from bayes_scaling.laws.loss import mean_loss

RECIPE_DIM = "recipe"
PER_RECIPE = ("loss_ref", "local_exponent", "reducible_fraction", "sigma", "b", "a", "c")
POPULATION = ("exponent_centre", "exponent_spread", "fraction_centre", "fraction_spread")
OFFSETS = ("log_local_exponent", "logit_reducible_fraction")
DIAGNOSED = PER_RECIPE + POPULATION

# The loss law's default priors on the local exponent and on the reducible fraction, written on
# the scales the population lives on: LogNormal(log 0.07, 1) is Normal(log 0.07, 1) on the log;
# Beta(2, 2) has a logit of mean 0 and sd 1.14 (sqrt(2·trigamma(2))).
EXPONENT_CENTRE = (np.log(0.07), 1.0)
FRACTION_CENTRE = (0.0, 1.14)
POOLING_PRIORS = {
    "exponent_spread": DefaultPrior(
        None, 'Prior("HalfNormal", sigma=0.25)',
        "How far the recipes' log-log slopes at C_ref differ, on the log scale: median 0.17 "
        "(slopes within ±17% of each other), 95% below 0.49 (a factor 1.6). Changes of optimiser, "
        "schedule or data filtering on one architecture move the slope by tens of percent.",
    ),
    "fraction_spread": DefaultPrior(
        None, 'Prior("HalfNormal", sigma=0.5)',
        "How far the recipes' reducible fractions differ, on the logit scale: median 0.34 (a "
        "fraction of 0.5 against 0.42-0.58), 95% below 1 (0.27-0.73). Recipes on one data set "
        "share most of the irreducible loss.",
    ),
}
PRIOR_DESCRIPTIONS = {  # how a recipe's forecast shows the priors of its pooled parameters
    "local_exponent": "partially pooled across the recipes: exp(Normal(exponent_centre, exponent_spread)), "
    "exponent_centre ~ Normal(log 0.07, 1), exponent_spread ~ LogNormal(log 0.15, 0.5)",
    "reducible_fraction": "partially pooled across the recipes: sigmoid(Normal(fraction_centre, fraction_spread)), "
    "fraction_centre ~ Normal(0, 1.14), fraction_spread ~ LogNormal(log 0.3, 0.5)",
    "sigma": 'Prior("LogNormal", mu=log(0.01), sigma=0.75), one run noise shared by every recipe',
}
SPREAD_SCALES = {"exponent_spread": 0.15, "fraction_spread": 0.3}  # prior medians
TARGET_ACCEPT = 0.99  # the loss law's
TUNE = 2000


def prepare(table: pd.DataFrame, recipe: str) -> tuple[pd.DataFrame, float]:
    """The rows with an integer ``recipe_index`` (the recipes in order of first appearance) and the
    shared ``C_ref``, the geometric mean of every fitted run's compute."""
    names = list(pd.unique(table[recipe].astype(str)))
    index = table[recipe].astype(str).map({name: i for i, name in enumerate(names)}).to_numpy()
    return table.assign(recipe_index=index), float(gmean(table["compute"].to_numpy(dtype=float)))


def build_model(table: pd.DataFrame, n_recipes: int, compute_ref: float, spread_scales: dict | None = None) -> pm.Model:
    """The joint model of every recipe's runs (``prepare``'s table); data in ``pm.Data`` nodes."""
    scales = {**SPREAD_SCALES, **(spread_scales or {})}
    index = table["recipe_index"].to_numpy()
    loss = table["loss"].to_numpy(dtype=float)
    medians = np.array([np.median(loss[index == r]) for r in range(n_recipes)])
    with pm.Model(coords={RECIPE_DIM: np.arange(n_recipes)}) as model:
        x = pm.Data("log_compute_ratio", np.log(table["compute"].to_numpy(dtype=float) / compute_ref))
        log_c_ref = pm.Data("log_compute_ref", np.log(compute_ref))
        recipe_of_row = pm.Data("recipe_index", index)
        loss_scale = pm.Data("loss_scale", medians)
        log_loss = pm.Data("log_loss", np.log(loss))
        spread_scale = pm.Data("spread_scales", np.array([scales["exponent_spread"], scales["fraction_spread"]]))

        # the loss law's defaults (laws/loss.py), one per recipe
        loss_ref = pm.LogNormal("loss_ref", mu=pt.log(loss_scale), sigma=0.5, dims=RECIPE_DIM)
        sigma = pm.LogNormal("sigma", mu=np.log(0.01), sigma=0.75)  # one run noise: one harness
        exponent_centre = pm.Normal("exponent_centre", *EXPONENT_CENTRE)
        exponent_spread = pm.LogNormal("exponent_spread", mu=pt.log(spread_scale[0]), sigma=0.5)
        # centred: each recipe's slope at C_ref is pinned by its own runs, where a non-centred
        # offset would make a funnel of the spread; the reducible fraction, which the runs pin
        # far less, is non-centred
        log_exponent = pm.Normal("log_local_exponent", mu=exponent_centre, sigma=exponent_spread, dims=RECIPE_DIM)
        fraction_centre = pm.Normal("fraction_centre", *FRACTION_CENTRE)
        fraction_spread = pm.LogNormal("fraction_spread", mu=pt.log(spread_scale[1]), sigma=0.5)
        logit_fraction = pm.Normal("logit_reducible_fraction", mu=fraction_centre, sigma=fraction_spread, dims=RECIPE_DIM)
        local_exponent = pm.Deterministic("local_exponent", pt.exp(log_exponent), dims=RECIPE_DIM)
        fraction = pm.Deterministic("reducible_fraction", pt.sigmoid(logit_fraction), dims=RECIPE_DIM)
        b = pm.Deterministic("b", -local_exponent / fraction, dims=RECIPE_DIM)
        pm.Deterministic("c", loss_ref * (1 - fraction), dims=RECIPE_DIM)
        pm.Deterministic("a", pt.exp(pt.log(fraction * loss_ref) - b * log_c_ref), dims=RECIPE_DIM)

        r = recipe_of_row
        log_mean = pt.log(mean_loss(x, loss_ref[r], fraction[r], b[r], xp=pm.math))
        pm.Normal("log_loss_obs", mu=log_mean, sigma=sigma, observed=log_loss)
    return model


def recipe_posterior(posterior: xr.Dataset, r: int) -> xr.Dataset:
    """Recipe ``r``'s draws of the joint posterior, named as the loss law names them."""
    return xr.Dataset({
        name: posterior[name] if posterior[name].ndim == 2 else posterior[name].isel({_dim(posterior[name]): r}, drop=True)
        for name in PER_RECIPE
    })


def _dim(variable: xr.DataArray) -> str:
    """The recipe axis of a per-recipe variable (``recipe``, or ArviZ's ``<name>_dim_0``)."""
    return RECIPE_DIM if RECIPE_DIM in variable.dims else variable.dims[-1]


def recipe_idata(idata, r: int, rows: np.ndarray):
    """Recipe ``r``'s forecast's InferenceData: its posterior slice, the joint sampler's stats (one
    sampler ran) and the pointwise log-likelihood of its own ``rows`` (a boolean mask of the table)."""
    pointwise = idata.log_likelihood["log_loss_obs"].to_numpy()[..., rows]
    return az.InferenceData(
        posterior=recipe_posterior(idata.posterior, r),
        sample_stats=idata.sample_stats,
        log_likelihood=az.from_dict(log_likelihood={"log_loss_obs": pointwise}).log_likelihood,
    )



def spread_summary(population: dict, prob: float) -> pd.DataFrame:
    """Each spread's prior median beside its posterior median and equal-tailed ``prob`` interval."""
    rows = []
    for name, prior_median in SPREAD_SCALES.items():
        draws = np.asarray(population[name]).reshape(-1)
        lower, upper = central_interval(draws, prob)
        rows.append({"spread": name, "prior_median": prior_median, "median": float(np.median(draws)), "lower": float(lower), "upper": float(upper)})
    return pd.DataFrame(rows).set_index("spread")
