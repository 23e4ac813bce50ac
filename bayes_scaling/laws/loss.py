"""The GPT-4 loss law ``L(C) = a·C^b + c`` as a PyMC model.

Why this parameterisation: written in raw ``a, b, c`` the posterior is a thin curved
ridge (``a`` spans orders of magnitude and trades off against ``b`` and ``c``), which
is where NUTS diverges. The data pin down the level and the log-log slope of the loss
near the middle of the ladder very well, and little else, so the model samples

- ``loss_ref``: the mean loss at the reference compute ``C_ref`` (the geometric mean
  of the fitted compute);
- ``local_exponent``: ``-d log L / d log C`` at ``C_ref``, the slope of the loss on a
  log-log plot there (``> 0``);
- ``reducible_fraction``: the share of ``loss_ref`` that more compute can remove, so
  ``c = (1 - reducible_fraction)·loss_ref`` (``0 < c < loss_ref`` by construction);
- ``sigma``: the relative (log-scale) run-to-run noise of one final loss.

The exponent follows as ``b = -local_exponent / reducible_fraction`` (``b < 0``) and
``a = reducible_fraction·loss_ref·C_ref^(-b)``. In these coordinates the posterior is
close to Gaussian: on the Porian et al. ladders ESS rose from ~260-700 to ~1000-2000
per 4,000 draws and r_hat from up to 1.02 to <= 1.006 against sampling ``b`` itself.

One funnel remains in those coordinates (the curve must thread the points as ``sigma``
shrinks, and four runs leave ``sigma`` free to shrink), so the sampler moves them as
deviations from the data's own fit scaled by the noise: laws/whitened_curve.py. The
posterior is the same; only the sampler's coordinates change.

The law is only approximately right: with ``extrapolation_error="auto"`` a slowly varying
deviation of the log loss from it, nil at C_ref and growing with the distance from it, is
marginalised into the likelihood (laws/extrapolation.py).

A prior on ``b`` can still be given (``prior={"b": Prior(...)}``): it is honoured
exactly as the density it implies on ``local_exponent``, so the sampler keeps the
coordinates above (laws/exponent_prior.py); a prior bounded inside ``b < 0``, or one
that pins ``b`` within 5%, is sampled in ``b`` itself. Every default prior is listed in
``DEFAULT_PRIORS`` and in docs/loss-law.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior
from scipy.stats import gmean

from bayes_scaling.tables import load_runs
from bayes_scaling.laws import evaluation_noise, exponent_prior, extrapolation, run_noise, whitened_curve
from bayes_scaling.laws.law import DefaultPrior, Law, Prepared, build_default_priors

PARAMETERS = ("loss_ref", "local_exponent", "reducible_fraction", "sigma")
DERIVED = ("b", "a", "c")
PRIOR_ALTERNATIVES = {"b": "local_exponent"}
# The posterior narrows with sigma (a mild funnel). At 0.95 one Porian et al. ladder
# still had a divergent transition (1 in 4,000); at 0.99 none of 40 fits (5 ladders ×
# 8 seeds) had any. It costs ~0.2 s per fit, against a 2 s budget.
TARGET_ACCEPT = 0.99
# The dense mass matrix needs the longer adaptation: with 1,000 tuning steps one synthetic
# ladder in 50 (tests/test_recovery.py, seed 11) ended at ESS tail 241; with 2,000, 1,144
# (and seed 3: 585 -> 1,448). It costs ~0.3 s per fit. In the whitened coordinates the
# smallest tail ESS of the 50 is 617 at 1,000 and 773 at 2,000: kept for the margin.
TUNE = 2000
# With the extrapolation error's scale as a fifth parameter, 2,000 left seed 20 of the same
# ladders at ESS tail 364; 3,000 gave 1,207.
TUNE_WITH_EXTRAPOLATION_ERROR = 3000

# Support each prior must respect: the law is meaningless outside it.
SUPPORT = {
    "loss_ref": (0.0, np.inf),
    "local_exponent": (0.0, np.inf),
    "reducible_fraction": (0.0, 1.0),
    "b": (-np.inf, 0.0),
    "sigma": (0.0, np.inf),
    "sigma_run": (0.0, np.inf),
    "sigma_eval": (0.0, np.inf),
}

DEFAULT_PRIORS = {
    "loss_ref": DefaultPrior(
        lambda loss_scale: Prior("LogNormal", mu=pt.log(loss_scale), sigma=0.5),
        'Prior("LogNormal", mu=log(median observed loss), sigma=0.5)',
        "The mean loss at C_ref sits among the observed losses; a factor of e^±1 "
        "(95%: ×0.37–×2.7) is wide next to what any ladder shows, so the data decide.",
    ),
    "reducible_fraction": DefaultPrior(
        Prior("Beta", alpha=2.0, beta=2.0),
        'Prior("Beta", alpha=2, beta=2)',
        "Between 9% and 91% (95%) of the loss at C_ref can be removed by more compute. "
        "Beta(2, 2) keeps c away from exactly 0 and from the observed loss, where the "
        "law degenerates into a pure power law or a constant. Together with the local "
        "exponent it implies a prior on b = -local_exponent/reducible_fraction centred "
        "near -0.16 with 95% in about -1.8..-0.02.",
    ),
    "local_exponent": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.07), sigma=1.0),
        'Prior("LogNormal", mu=log(0.07), sigma=1.0)',
        "The log-log slope of the loss at C_ref: 95% in 0.01-0.5. Ladders of small "
        "language models fall at 0.03-0.1 per e-fold of compute at their centre (Porian "
        "et al. ≈ 0.06, Kaplan et al.'s pure power law 0.05); the data pin it down tightly.",
    ),
    "sigma": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.01), sigma=0.75),
        'Prior("LogNormal", mu=log(0.01), sigma=0.75)',
        "Relative run-to-run noise of a final loss: seed-to-seed noise is 0.5–1% of "
        "the loss; 95% of the prior lies in 0.23%–4.3%, and a log-normal keeps it off "
        "zero, where a few points would pull the fit into a funnel.",
    ),
    extrapolation.SCALE: extrapolation.DEFAULT_PRIOR,
    # Where runs were evaluated more than once (an ``evaluation`` column; laws/evaluation_noise.py)
    # ``sigma`` is one new evaluation of a new run and splits into these two.
    "sigma_run": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.01), sigma=0.75),
        'Prior("LogNormal", mu=log(0.01), sigma=0.75); with repeated evaluations only',
        "Run-to-run noise of a run's own loss (its seed, data order): sigma's default, which "
        "it replaces where repeated evaluations tell evaluation noise apart.",
    ),
    "sigma_eval": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.003), sigma=1.0),
        'Prior("LogNormal", mu=log(0.003), sigma=1.0); with repeated evaluations only',
        "Relative noise of one evaluation of a run (which held-out shard or sample): 95% in "
        "0.04%-2%. A held-out set of 10^5-10^6 tokens measures a mean loss to 0.1-0.5%.",
    ),
}


def default_priors(loss_scale) -> dict[str, Prior]:
    """Default priors; ``loss_scale`` is the model's median-observed-loss data node.

    A prior on ``b`` has no default: given one, it replaces ``local_exponent``'s. The defaults of
    ``sigma_run`` and ``sigma_eval`` are used only where runs were evaluated more than once.
    """
    return build_default_priors(DEFAULT_PRIORS, loss_scale)


def mean_loss(log_compute_ratio, loss_ref, reducible_fraction, b, xp=np):
    """Mean final loss at ``x = log(C / C_ref)``; ``xp`` is numpy or ``pm.math``."""
    return loss_ref * (reducible_fraction * xp.exp(b * log_compute_ratio) + 1 - reducible_fraction)


def load(data) -> pd.DataFrame:
    return load_runs(data)


def quantities(options: dict) -> list[str]:
    """``loss``: one evaluation of a new run; with repeated evaluations also ``run_loss``, the run's own."""
    return ["loss", "run_loss"] if options.get("evaluation_noise") else ["loss"]


def prepare(runs: pd.DataFrame, extrapolation_error=False):
    """The loss law fits every run; C_ref is the geometric mean of the fitted compute.

    ``extrapolation_error``: ``"auto"`` or ``True`` adds the deviation of laws/extrapolation.py
    with its default prior scale, a number sets that scale, ``False`` (for now the default;
    docs/loss-law.md says why) fits the plain law. Runs evaluated more than once are fitted one
    row per run, their noise split in two (laws/evaluation_noise.py).
    """
    scale_prior = extrapolation.scale_prior(extrapolation_error)
    runs, repeated = evaluation_noise.fitted_runs(runs)
    if repeated and scale_prior > 0:
        raise ValueError("extrapolation_error cannot be combined with repeated evaluations of a run yet: "
                         "average each run's evaluations first, or fit without extrapolation_error")
    compute_ref = float(gmean(runs["compute"].to_numpy()))
    return Prepared(runs, {}, {"compute_ref": compute_ref, "extrapolation_scale_prior": scale_prior, "evaluation_noise": repeated})


def structure(options: dict) -> tuple:
    """With or without the extrapolation error, and with or without evaluation noise: different graphs."""
    split = (("evaluation_noise", True),) if options.get("evaluation_noise") else ()
    return (("extrapolation_error", extrapolation.asked_for(options)),) + split


def tune_steps(options: dict) -> int:
    """Default tuning steps: the extrapolation error's scale needs the longer adaptation."""
    return TUNE_WITH_EXTRAPOLATION_ERROR if extrapolation.asked_for(options) else TUNE


def build_model(prepared: Prepared, priors: dict[str, Prior]) -> pm.Model:
    """The PyMC model of a validated runs table; data live in ``pm.Data`` nodes.

    Keeping every data-dependent number in a data node (not a constant) lets the
    sampler compile this model once per shape and reuse it for new data.
    """
    runs, options = prepared.table, prepared.options
    compute = runs["compute"].to_numpy(dtype=float)
    loss = runs["loss"].to_numpy(dtype=float)
    c_ref = options["compute_ref"]
    log_ratio, log_losses, scale = np.log(compute / c_ref), np.log(loss), float(np.median(loss))
    with pm.Model() as model:
        x = pm.Data("log_compute_ratio", log_ratio)
        log_c_ref = pm.Data("log_compute_ref", np.log(c_ref))
        loss_scale = pm.Data("loss_scale", scale)
        log_loss = pm.Data("log_loss", log_losses)
        # None (the plain coordinates) where a prior on b, or one with no closed-form density, asks
        # for them, or where the data pin too little of the curve for whitening to pay
        fit = whitened_curve.fit_where_it_pays(priors, log_ratio, log_losses, scale)
        if options.get("evaluation_noise"):  # one row per run, its evaluations summarised
            noise = evaluation_noise.noise_variables(priors, DEFAULT_PRIORS, runs)
            loss_ref, fraction, b, _ = power_law_variables(priors, loss_scale, log_c_ref, fit, sigma=noise.whitening)
            log_mean = pm.math.log(mean_loss(x, loss_ref, fraction, b, xp=pm.math))
            pm.Normal("log_loss_obs", mu=log_mean, sigma=noise.per_run, observed=log_loss)
        else:
            evaluation_noise.refuse_split_priors(priors)
            loss_ref, fraction, b, sigma = power_law_variables(priors, loss_scale, log_c_ref, fit)
            log_mean = pm.math.log(mean_loss(x, loss_ref, fraction, b, xp=pm.math))
            observe_log_loss("log_loss_obs", x, log_mean, sigma, log_loss, options)
    return model


def observe_log_loss(name: str, x, log_mean, sigma, log_loss, options: dict) -> None:
    """The fitted log losses: independent log-normal run noise around the law, plus the
    extrapolation error (one multivariate normal) where the options ask for it."""
    if extrapolation.asked_for(options):
        scale_prior = pm.Data("extrapolation_scale_prior", options["extrapolation_scale_prior"])
        extrapolation.observe(x, log_mean, sigma, log_loss, scale_prior, name)
    else:
        pm.Normal(name, mu=log_mean, sigma=sigma, observed=log_loss)


def loo_log_likelihood(posterior, constant, options: dict):
    """Pointwise leave-one-out log-densities when the runs are not independent (the extrapolation
    error makes them one multivariate normal); None when the sampler's own pointwise terms are right."""
    return extrapolation.loo_terms("log_loss_obs", posterior, constant, options)


def power_law_variables(priors: dict[str, Prior], loss_scale, log_c_ref, fit: dict | None = None, sigma=None):
    """The law's random variables inside the current model: (loss_ref, reducible_fraction, b, sigma).

    Also adds the derived ``local_exponent`` or ``b``, ``c`` and ``a``. The two-step
    capability law reuses this for its task loss, so both laws sample the same geometry.
    ``fit``: the data's own fit where the whitened coordinates pay
    (``whitened_curve.fit_where_it_pays``); with it the curve is sampled in the whitened
    coordinates of laws/whitened_curve.py. ``sigma``: the noise already in the model (the
    whitening's scale) where the caller made it; by default ``sigma`` is made from its prior.
    """
    chosen = {**default_priors(loss_scale), **priors}
    if sigma is None:
        sigma = chosen["sigma"].create_variable("sigma")
    if fit is not None:
        loss_ref, fraction, local_exponent = whitened_curve.curve_variables(chosen, sigma, fit)
        b = pm.Deterministic("b", -local_exponent / fraction)
    else:
        loss_ref, fraction, b = _curve_variables(chosen, priors)
    pm.Deterministic("c", loss_ref * (1 - fraction))
    pm.Deterministic("a", pm.math.exp(pm.math.log(fraction * loss_ref) - b * log_c_ref))
    return loss_ref, fraction, b, sigma


def _curve_variables(chosen: dict[str, Prior], priors: dict[str, Prior]):
    """(loss_ref, reducible_fraction, b) sampled in the law's own coordinates (see the module docstring)."""
    loss_ref = chosen["loss_ref"].create_variable("loss_ref")
    fraction = chosen["reducible_fraction"].create_variable("reducible_fraction")
    if "b" in priors and not exponent_prior.movable(priors["b"]):
        b = priors["b"].create_variable("b")
        pm.Deterministic("local_exponent", -b * fraction)
    elif "b" in priors:  # the prior on b as the local exponent's density (laws/exponent_prior.py)
        local_exponent = pm.HalfFlat("local_exponent", initval=np.exp(whitened_curve.STAND_IN_LOCAL_EXPONENT))
        b = pm.Deterministic("b", -local_exponent / fraction)
        pm.Potential("b_prior", exponent_prior.log_density(priors["b"], local_exponent, fraction))
    else:
        local_exponent = chosen["local_exponent"].create_variable("local_exponent")
        b = pm.Deterministic("b", -local_exponent / fraction)
    return loss_ref, fraction, b


def predict(posterior, constant, options: dict, compute: np.ndarray, rng: np.random.Generator):
    """Draws of one new run's loss (``loss``) and of the mean curve (``mean_loss``).

    ``posterior`` maps parameter names to arrays of shape (chain, draw); the arrays
    returned have shape (chain, draw, len(compute)). A new run's loss is the mean times
    log-normal run noise; where repeated evaluations split the noise, ``loss`` is one evaluation
    of a new run and ``run_loss`` the run's own loss (laws/evaluation_noise.py).
    """
    x = np.log(np.asarray(compute, dtype=float) / options["compute_ref"])
    p = {name: np.asarray(posterior[name])[..., None] for name in ("loss_ref", "reducible_fraction", "b")}
    p["sigma"] = evaluation_noise.one_evaluation_sigma(posterior)[..., None]  # one evaluation of a new run
    mean = mean_loss(x, p["loss_ref"], p["reducible_fraction"], p["b"])
    if extrapolation.SCALE in posterior:  # the law is only approximately right: its deviation there
        mean = mean * np.exp(extrapolation.deviation_at(posterior, constant, options, x, rng))
    noise = rng.standard_normal(mean.shape)
    # with the split noise also the run's own loss, without the noise of evaluating it
    return {"loss": mean * np.exp(p["sigma"] * noise), "mean_loss": mean, **evaluation_noise.run_loss(posterior, mean, rng)}


LAW = Law(
    name="loss",
    observed="loss",
    formula="L(C) = a·C^b + c",  # the report names the law and what it assumes
    assumption="one power law plus a constant",
    parameters=PARAMETERS + evaluation_noise.SPLIT,  # the split noise where the table has repeated evaluations
    derived=DERIVED,
    # the scale and the split noise only where the options and the table add them
    diagnosed=PARAMETERS + DERIVED + (extrapolation.SCALE,) + evaluation_noise.SPLIT,
    # Parameters a prior may be set on; "b" swaps places with "local_exponent" (see above).
    prior_names=PARAMETERS + ("b",) + evaluation_noise.SPLIT,
    support=SUPPORT,
    default_priors=DEFAULT_PRIORS,
    prior_alternatives=PRIOR_ALTERNATIVES,
    target_accept=TARGET_ACCEPT,
    dense_mass=True,  # four parameters with strong linear correlations
    tune=TUNE,
    tune_steps=tune_steps,
    load=load,
    prepare=prepare,
    build_model=build_model,
    predict=predict,
    quantities=quantities,
    structure=structure,
    loo_log_likelihood=loo_log_likelihood,
    run_log_density=run_noise.log_density,  # log-normal run noise
    cli_options=(extrapolation.CLI_OPTION,),
)
