"""The loss law for several recipes at once, their curves' shapes partially pooled.

Why: recipes trained on one architecture and one data set tend to bend together. Fitted apart,
each recipe's curve carries its full extrapolation uncertainty, as if the two could bend
independently beyond the data, so their difference at the target is less certain than it is
(benchmarks/recipes.py: a stated P(better) of 0.68 won 89% of the time). Here every recipe ``r``
has its own loss law ``L_r(C) = a_r·C^(b_r) + c_r`` in the loss law's coordinates
(laws/loss.py), at one reference compute ``C_ref`` shared by all recipes (the geometric mean of
every fitted run), and the two numbers that shape its curve are drawn from a shared population::

    log local_exponent_r       ~ Normal(exponent_centre, exponent_spread)
    logit reducible_fraction_r ~ Normal(fraction_centre, fraction_spread)

The level ``loss_ref_r`` is each recipe's own and the run noise ``sigma`` one for all (one
harness), with the loss law's default priors. Where the data pin a recipe's curve, its own data
decide; where they do not (the reducible fraction, which sets how far the curve bends beyond the
data), the recipes share what the others know, as far as the spreads allow. The spreads have
log-normal priors kept off zero, medians ``SPREAD_SCALES`` (docs/recipes.md gives why, and why
not half-normal: a funnel at a spread near 0); a spread of 0 is one shared curve shape, a large
spread is the recipes fitted apart. The centres' priors are the loss law's defaults, so with a
large spread each recipe's prior is the unpooled law's.

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
from bayes_scaling.laws import loss
from bayes_scaling.laws.loss import DEFAULT_PRIORS, mean_loss

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
TARGET_ACCEPT, TUNE = loss.TARGET_ACCEPT, loss.TUNE  # the joint model samples as the loss law does
SPREAD_SCALES = {"exponent_spread": 0.15, "fraction_spread": 0.3}  # prior medians
SPREAD_SD = 0.5  # of each spread's log-normal prior: 95% within a factor e^0.98 of its median
PRIOR_DESCRIPTIONS = {  # how a recipe's forecast shows the priors of its pooled parameters
    "local_exponent": "partially pooled across the recipes: exp(Normal(exponent_centre, exponent_spread)), "
    f"exponent_centre ~ Normal(log 0.07, 1), exponent_spread ~ LogNormal(log {SPREAD_SCALES['exponent_spread']:g}, {SPREAD_SD:g})",
    "reducible_fraction": "partially pooled across the recipes: sigmoid(Normal(fraction_centre, fraction_spread)), "
    f"fraction_centre ~ Normal(0, 1.14), fraction_spread ~ LogNormal(log {SPREAD_SCALES['fraction_spread']:g}, {SPREAD_SD:g})",
    "sigma": DEFAULT_PRIORS["sigma"].shown + ", one run noise shared by every recipe",
}


def prepare(table: pd.DataFrame, recipe: str, names: list[str]) -> tuple[pd.DataFrame, float]:
    """The rows with an integer ``recipe_index`` (the position of their recipe in ``names``) and the
    shared ``C_ref``, the geometric mean of every fitted run's compute."""
    index = table[recipe].astype(str).map({name: i for i, name in enumerate(names)}).to_numpy()
    return table.assign(recipe_index=index), float(gmean(table["compute"].to_numpy(dtype=float)))


def build_model(table: pd.DataFrame, n_recipes: int, compute_ref: float) -> pm.Model:
    """The joint model of every recipe's runs (``prepare``'s table); data in ``pm.Data`` nodes."""
    index = table["recipe_index"].to_numpy()
    loss = table["loss"].to_numpy(dtype=float)
    medians = np.array([np.median(loss[index == r]) for r in range(n_recipes)])
    with pm.Model(coords={RECIPE_DIM: np.arange(n_recipes)}) as model:
        x = pm.Data("log_compute_ratio", np.log(table["compute"].to_numpy(dtype=float) / compute_ref))
        log_c_ref = pm.Data("log_compute_ref", np.log(compute_ref))
        recipe_of_row = pm.Data("recipe_index", index)
        loss_scale = pm.Data("loss_scale", medians)
        log_loss = pm.Data("log_loss", np.log(loss))
        spread_scale = pm.Data("spread_scales", np.array([SPREAD_SCALES["exponent_spread"], SPREAD_SCALES["fraction_spread"]]))

        # the loss law's defaults (laws/loss.py): a level per recipe, one run noise (one harness)
        level = DEFAULT_PRIORS["loss_ref"].prior(loss_scale)
        loss_ref = pm.LogNormal("loss_ref", **level.parameters, dims=RECIPE_DIM)
        sigma = DEFAULT_PRIORS["sigma"].prior.create_variable("sigma")
        exponent_centre = pm.Normal("exponent_centre", *EXPONENT_CENTRE)
        exponent_spread = pm.LogNormal("exponent_spread", mu=pt.log(spread_scale[0]), sigma=SPREAD_SD)
        # centred, the slopes and the fractions: each recipe's own runs pin them, and non-centred offsets
        # made a funnel at large spreads (divergent transitions on Porian pairs; centred, none in the
        # 12 joint fits of benchmarks/recipes.py)
        log_exponent = pm.Normal("log_local_exponent", mu=exponent_centre, sigma=exponent_spread, dims=RECIPE_DIM)
        fraction_centre = pm.Normal("fraction_centre", *FRACTION_CENTRE)
        fraction_spread = pm.LogNormal("fraction_spread", mu=pt.log(spread_scale[1]), sigma=SPREAD_SD)
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
