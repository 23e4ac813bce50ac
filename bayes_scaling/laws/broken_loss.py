"""A loss law with one smooth bend: a broken power law (Caballero et al. 2022, one break, no floor).

Some ladders do not fall along one power law plus a constant: their log-log slope changes partway
(a schedule tuned for one length, a data or tokenizer effect at small scale; Porian et al.'s
"short" configurations). One smooth break is

    L(C) = a·C^(−k1)·(1 + (C/C_b)^(1/s))^(−(k2 − k1)·s),

slope ``k1`` well below the break ``C_b``, ``k2`` well above it, the change spread over about ``s``
e-folds of compute. In log compute ``x = log(C/C_ref)``:

    log L(x) = log L_ref − k1·x − (k2 − k1)·s·[softplus((x − x_b)/s) − softplus(−x_b/s)].

There is no irreducible constant: a flattening is the bend itself (``k2 < k1``), and beyond the
data the loss keeps falling with slope ``k2``. With a constant as well, a flattening could be either
(the constant approached, or the exponent bending): the posterior had two modes and ridges that
NUTS could not cross on Porian et al.'s ladders (issue 18's closing note). Compare this law with the
plain one by PSIS-LOO and stack them (``bs.compare``, ``bs.stack``; docs/loss-law.md).

Parameters: ``loss_ref`` (the mean loss at ``C_ref``), ``local_exponent`` (the log-log slope there),
``bend`` = log(k2/k1) and ``sigma`` (the run noise, as in the loss law). The break's position is not
sampled: for a given position the log loss is nearly linear in the rest, so the model sums the
likelihood over ``GRID`` positions spread evenly over the fitted range (its prior: uniform there),
and ``complete_posterior`` draws the position back for each posterior draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior
from scipy.special import expit, logsumexp
from scipy.stats import gmean

from bayes_scaling.laws import evaluation_noise, loss, run_noise
from bayes_scaling.laws.law import DefaultPrior, Law, Prepared, build_default_priors
from bayes_scaling.tables import DataError

NAME = "broken_loss"
SMOOTHNESS = 2.0  # s, in e-folds of compute: a dozen runs cannot tell a sharper bend from a smoother one
GRID = 41  # positions of the break summed over, evenly over the fitted range of log compute
PARAMETERS = ("loss_ref", "local_exponent", "bend", "sigma")
DERIVED = ("bend_at", "exponent_below", "exponent_above")
# The dense mass matrix needs the longer adaptation where the runs leave little noise (sigma ~0.1%):
# tuned/short/const's whole ladder at 2,000 tuning steps had r_hat 1.02 with one seed of six, at 3,000 none.
TUNE = 3000
# Five unknowns (level, slope, bend, its position, noise): with five runs Chinchilla's frontier had a
# divergent transition or r_hat 1.01+ with 4 seeds of 4. At least six distinct computes, then.
MIN_COMPUTES = 6

DEFAULT_PRIORS = {
    "loss_ref": loss.DEFAULT_PRIORS["loss_ref"],
    "local_exponent": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.07), sigma=1.0),
        'Prior("LogNormal", mu=log(0.07), sigma=1.0)',
        "The log-log slope of the loss at C_ref, as in the loss law: 95% in 0.01-0.5.",
    ),
    "bend": DefaultPrior(
        Prior("Normal", mu=0.0, sigma=0.5),
        'Prior("Normal", mu=0, sigma=0.5)',
        "log(k2/k1): the slope above the break is 0.37×-2.7× the one below (95%), centred on no "
        "bend, so the runs must show one.",
    ),
    "bend_at": DefaultPrior(
        None,
        f"uniform over the fitted range of log(C/C_ref), summed out over {GRID} positions",
        "Anywhere within the fitted range, equally: the law describes a bend the runs show. A break "
        "beyond them is one they cannot weigh (the loss law's extrapolation error covers it).",
    ),
    "sigma": loss.DEFAULT_PRIORS["sigma"],
    # with repeated evaluations of a run (laws/evaluation_noise.py), as in the loss law
    "sigma_run": loss.DEFAULT_PRIORS["sigma_run"],
    "sigma_eval": loss.DEFAULT_PRIORS["sigma_eval"],
}
SUPPORT = {"loss_ref": (0.0, np.inf), "local_exponent": (0.0, np.inf), "bend": (-np.inf, np.inf), "sigma": (0.0, np.inf),
           "sigma_run": (0.0, np.inf), "sigma_eval": (0.0, np.inf)}
CURVE = PARAMETERS[:-1]  # the sampled parameters other than the noise


def exponents(local_exponent, bend, bend_at, xp=np):
    """(k1, k2), the slopes below and above the break, from the slope at C_ref and the bend."""
    ratio = xp.exp(bend)
    k1 = local_exponent / (1 + (ratio - 1) * _sigmoid(-bend_at / SMOOTHNESS, xp))
    return k1, ratio * k1


def log_mean_loss(x, loss_ref, k1, k2, bend_at, xp=np):
    """log of the mean loss at ``x = log(C / C_ref)``; ``xp`` is numpy or ``pm.math``."""
    shift = _softplus((x - bend_at) / SMOOTHNESS, xp) - _softplus(-bend_at / SMOOTHNESS, xp)
    return xp.log(loss_ref) - k1 * x - (k2 - k1) * SMOOTHNESS * shift


def _sigmoid(z, xp):
    return expit(z) if xp is np else pm.math.sigmoid(z)


def _softplus(z, xp):
    return np.logaddexp(0.0, z) if xp is np else pm.math.log1pexp(z)


def prepare(runs: pd.DataFrame):
    """Every run is fitted; C_ref is the geometric mean of the fitted compute (so the fitted range of
    log(C/C_ref) is symmetric), and the break's positions span that range. Runs evaluated more than
    once are fitted one row per run, their noise split in two (laws/evaluation_noise.py)."""
    runs, repeated = evaluation_noise.fitted_runs(runs)
    compute = runs["compute"].to_numpy(dtype=float)
    if len(np.unique(compute)) < MIN_COMPUTES:
        raise DataError(
            f"the broken_loss law needs runs at {MIN_COMPUTES} or more distinct computes to place a bend (level, slope, "
            f"bend, where it is, and the noise); this table has {len(np.unique(compute))}: use law='loss'"
        )
    half = float(np.log(compute.max() / compute.min())) / 2
    options = {"compute_ref": float(gmean(compute)), "bend_grid": np.linspace(-half, half, GRID).tolist(),
               "log_loss": np.log(runs["loss"].to_numpy(dtype=float)).tolist(), "evaluation_noise": repeated}
    return Prepared(runs, {}, options)


def structure(options: dict) -> tuple:
    """With or without the split noise of repeated evaluations: two graphs."""
    return (("evaluation_noise", True),) if options.get("evaluation_noise") else ()


def build_model(prepared: Prepared, priors: dict[str, Prior]) -> pm.Model:
    """The broken power law with its break's position summed out; every data-dependent number in a ``pm.Data`` node."""
    runs, options = prepared.table, prepared.options
    log_losses = np.asarray(options["log_loss"])
    with pm.Model() as model:
        x = pm.Data("log_compute_ratio", np.log(runs["compute"].to_numpy(dtype=float) / options["compute_ref"]))
        loss_scale = pm.Data("loss_scale", float(np.exp(np.median(log_losses))))
        log_loss = pm.Data("log_loss", log_losses)
        grid = pm.Data("bend_grid", np.asarray(options["bend_grid"]))
        chosen = {**build_default_priors({k: v for k, v in DEFAULT_PRIORS.items() if k != "bend_at"}, loss_scale), **priors}
        p = {name: chosen[name].create_variable(name) for name in CURVE}
        if options.get("evaluation_noise"):  # one row per run, its evaluations summarised
            noise = evaluation_noise.noise_variables(priors, DEFAULT_PRIORS, runs).per_run
        else:
            evaluation_noise.refuse_split_priors(priors)
            noise = chosen["sigma"].create_variable("sigma")
        k1, k2 = exponents(p["local_exponent"], p["bend"], grid, xp=pm.math)  # one pair per position
        log_mean = log_mean_loss(x[None, :], p["loss_ref"], k1[:, None], k2[:, None], grid[:, None], xp=pm.math)
        per_position = pm.logp(pm.Normal.dist(mu=log_mean, sigma=noise), log_loss[None, :]).sum(axis=1)
        pm.Potential("log_loss_given_the_break", pt.logsumexp(per_position) - np.log(GRID))
    return model


def _per_position(posterior, options: dict, table) -> tuple[np.ndarray, np.ndarray]:
    """log p(each run | draw, break at each position): shape (chain, draw, position, run); and the positions.
    ``table``: the fitted rows (their compute, and with the split noise their number of evaluations)."""
    grid = np.asarray(options["bend_grid"])
    x = np.log(np.asarray(table["compute"], dtype=float) / options["compute_ref"])
    p = {name: np.asarray(posterior[name])[..., None, None] for name in CURVE}
    sigma = evaluation_noise.per_run_sigma(posterior, table)[..., None, :]  # (chain, draw, 1, run)
    k1, k2 = exponents(p["local_exponent"], p["bend"], grid[:, None])
    z = (np.asarray(options["log_loss"]) - log_mean_loss(x, p["loss_ref"], k1, k2, grid[:, None])) / sigma
    return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), grid


def complete_posterior(posterior, prepared: Prepared, rng: np.random.Generator) -> None:
    """Draw the break's position for each posterior draw from its conditional (in place), moved
    uniformly within its grid cell, and the slopes below and above it."""
    terms, grid = _per_position(posterior, prepared.options, prepared.table)
    total = terms.sum(axis=-1)  # (chain, draw, position)
    weights = np.exp(total - total.max(axis=-1, keepdims=True))
    cumulative = np.cumsum(weights / weights.sum(axis=-1, keepdims=True), axis=-1)
    chosen = np.minimum((cumulative < rng.uniform(size=total.shape[:-1])[..., None]).sum(axis=-1), len(grid) - 1)
    at = np.clip(grid[chosen] + (grid[1] - grid[0]) * (rng.uniform(size=chosen.shape) - 0.5), grid[0], grid[-1])
    k1, k2 = exponents(posterior["local_exponent"].values, posterior["bend"].values, at)
    for name, values in (("bend_at", at), ("exponent_below", k1), ("exponent_above", k2)):
        posterior[name] = (("chain", "draw"), values)


def loo_log_likelihood(posterior, constant, options: dict):
    """Each run's leave-one-out log predictive density per draw, the break summed out:
    log Σ_g p(y_i | g) p(y_-i | g) − log Σ_g p(y_-i | g)."""
    terms, _ = _per_position(posterior, options, {name: constant[name].to_numpy() for name in constant.data_vars})
    others = terms.sum(axis=-1, keepdims=True) - terms
    return {"log_loss_obs": logsumexp(terms + others, axis=-2) - logsumexp(others, axis=-2)}


def predict(posterior, constant, options: dict, compute: np.ndarray, rng: np.random.Generator):
    """Draws of one new run's loss (``loss``) and of the mean curve (``mean_loss``), shape (chain, draw, target)."""
    x = np.log(np.asarray(compute, dtype=float) / options["compute_ref"])
    p = {name: np.asarray(posterior[name])[..., None] for name in ("loss_ref", "exponent_below", "exponent_above", "bend_at")}
    mean = np.exp(log_mean_loss(x, p["loss_ref"], p["exponent_below"], p["exponent_above"], p["bend_at"]))
    sigma = evaluation_noise.one_evaluation_sigma(posterior)[..., None]  # one evaluation of a new run
    return {"loss": mean * np.exp(sigma * rng.standard_normal(mean.shape)), "mean_loss": mean, **evaluation_noise.run_loss(posterior, mean, rng)}


LAW = Law(
    name=NAME,
    observed="loss",
    formula="L(C) = a·C^(−k1)·(1 + (C/C_b)^(1/s))^(−(k2−k1)·s)",
    assumption="a power law whose exponent changes once, smoothly, at a compute inside the ladder, with no floor",
    parameters=PARAMETERS + evaluation_noise.SPLIT,  # the split noise where runs were evaluated more than once
    derived=DERIVED,
    diagnosed=PARAMETERS + DERIVED + evaluation_noise.SPLIT,
    prior_names=PARAMETERS + evaluation_noise.SPLIT,
    support=SUPPORT,
    default_priors=DEFAULT_PRIORS,
    target_accept=loss.TARGET_ACCEPT,
    dense_mass=True,
    tune=TUNE,
    log_likelihood=False,  # no observed variable: the runs' likelihood is summed over the break's positions
    loo_log_likelihood=loo_log_likelihood,
    complete_posterior=complete_posterior,
    load=loss.load,
    prepare=prepare,
    build_model=build_model,
    predict=predict,
    quantities=loss.quantities,
    structure=structure,
    run_log_density=run_noise.log_density,
)
