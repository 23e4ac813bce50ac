"""The Chinchilla law ``L(N, D) = E + A/N^α + B/D^β`` as a PyMC model, and compute-optimal allocation.

Labs over-train small models, so the loss depends on parameters ``N`` and tokens ``D``
separately, not on compute alone. Hoffmann et al. (2022) fitted this form; Epoch AI
refitted it on the digitised points.

Why this parameterisation: a ladder pins down the loss near its middle and how fast it
falls along the ladder, and often little else. Sampled in ``A, B, α, β`` (or in the two
terms at a pivot and the two exponents), the posterior is a thin curved ridge wherever N
and D rise together, as on a compute-optimal frontier: a larger parameter term with a
smaller exponent and a smaller token term with a larger one draw the same curve. That
ridge gave 8-87 divergent transitions on every Porian et al. frontier. So the model
samples what the data pin down, and puts the rest on axes of its own:

- ``loss_ref``: the mean loss at the pivot (``N_ref``, ``D_ref``: the geometric means of the
  fitted runs), and ``reducible_fraction``: the share of it above ``E``;
- ``local_exponent``: ``-d log L / d log C`` at the pivot along the ladder's own path in
  the (log N, log D) plane (``log N`` rising by ``path_slope`` per unit of ``log C``, fitted
  from the runs), exactly the loss law's local exponent for a ladder that is one curve;
- ``allocation``: ``β/(α+β)``, the exponent of compute-optimal model size
  (``N* ∝ C^allocation``);
- ``allocation_gap``: ``log(α·params_term / (β·tokens_term))`` at the pivot, how far the
  pivot's split of compute between N and D is from compute-optimal (0: optimal; > 0: a
  larger model would have done better); it sets the parameter term's share;
- ``sigma``: the relative (log-scale) run-to-run noise, as in the loss law.

``E``, the two terms at the pivot (``params_term`` = ``A/N_ref^α``, ``tokens_term`` =
``B/D_ref^β``) and their ``params_share``, ``α``, ``β``, ``A`` and ``B`` are derived. On a
ladder whose runs lie on one path (``path_spread`` small) the data cannot tell
``allocation`` and ``allocation_gap``: their default priors then say that the ladder is
compute-optimal (the allocation centred on the runs' own ``path_slope``, the gap on 0), the
model samples as cleanly as the loss law, and ``prepare`` warns
(``IdentifiabilityWarning``) that forecasts off that path rest on that assumption. Every
default prior is in ``DEFAULT_PRIORS`` and in docs/chinchilla-law.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior
from scipy.stats import gmean

from bayes_scaling.tables import DataError, IdentifiabilityWarning, check_targets as check_compute, load_runs, read_table
from bayes_scaling.laws import evaluation_noise, extrapolation, run_noise
from bayes_scaling.laws.law import DefaultPrior, Law, Prepared, build_default_priors
from bayes_scaling.laws.loss import observe_log_loss

NAME = "chinchilla"
PARAMETERS = ("loss_ref", "reducible_fraction", "local_exponent", "allocation", "allocation_gap", "sigma")
DERIVED = ("E", "params_term", "tokens_term", "params_share", "alpha", "beta", "A", "B")
# As in the loss law, the dense mass matrix needs the longer adaptation: with 1,000 tuning steps
# Li et al.'s best-learning-rate ladder (81 runs; logit E-share and logit allocation correlated
# 0.91) ended at ESS tail 254; with 2,000, 1,028 and 962 (seeds 0 and 1).
TUNE = 2000
# With the extrapolation error's scale as one more parameter: 3,000 (the loss law's) left Li et al.'s
# best-learning-rate ladder fitted up to C_max/16 at ESS tail 379 (seed 0; allocation and the
# parameter term's share); 4,000 gave 847 (benchmarks/calibration.py --grids).
TUNE_WITH_EXTRAPOLATION_ERROR = 4000
# Columns a run needs to be a target of this law (the backtest hands held-out runs over).
TARGET_COLUMNS = ("params", "tokens")
FLOPS_PER_PARAM_TOKEN = 6.0  # C = 6·N·D, training FLOPs of a dense transformer
LIKELIHOODS = ("normal", "student_t")
STUDENT_T_NU = 3.0  # heavy tails: a run 5 sigma off the law weighs like one 1.4 sigma off
# path_spread (sd of log(D/N) around its trend in log C) below this: N and D rise together
# and the split between the two terms is the prior's. Measured: Porian et al.'s compute-optimal
# frontiers 0.10-0.17; IsoFLOP sweeps 1.5-3.0; Chinchilla's points 1.35; Li et al. 0.84.
ONE_PATH_BELOW = 0.35
# the path's slope is a conditioning choice (any value in (0, 1) gives the same model):
# clipped so that the local exponent's map to α and β stays well defined
PATH_SLOPE_RANGE = (0.05, 0.95)
# Default priors on the split, (allocation Beta's alpha and beta, sd of allocation_gap): on a
# ladder that varies N and D apart, and on one whose runs lie on one path (centred there).
SPLIT_PRIOR = {"apart": (4.0, 4.0, 1.0)}
ONE_PATH_ALLOCATION_SD = 0.05  # at least; more where the path's slope is uncertain
# ... and centred no further out than this: published allocations lie in 0.46-0.73, and a path
# slope near 0 or 1 (a ladder that barely grows N, or D) would make α or β blow up
ONE_PATH_ALLOCATION_RANGE = (0.25, 0.8)
ONE_PATH_GAP_SD = 0.2
SUPPORT = {
    "loss_ref": (0.0, np.inf),
    "reducible_fraction": (0.0, 1.0),
    "local_exponent": (0.0, np.inf),
    "allocation": (0.0, 1.0),
    "allocation_gap": (-np.inf, np.inf),
    "sigma": (0.0, np.inf),
}

DEFAULT_PRIORS = {
    "loss_ref": DefaultPrior(
        lambda loss_scale, split: Prior("LogNormal", mu=pt.log(loss_scale), sigma=0.5),
        'Prior("LogNormal", mu=log(median observed loss), sigma=0.5)',
        "The mean loss at the pivot sits among the observed losses; a factor of e^±1 "
        "(95%: ×0.37–×2.7) is wide next to what any ladder shows, so the data decide.",
    ),
    "reducible_fraction": DefaultPrior(
        Prior("Beta", alpha=2.0, beta=2.0),
        'Prior("Beta", alpha=2, beta=2)',
        "Between 9% and 91% (95%) of the loss at the pivot lies above the irreducible loss E. "
        "On language-model ladders E is about half to two thirds of the typical loss (Hoffmann: "
        "1.69, Epoch: 1.82, against losses of 2-4); Beta(2, 2) keeps E off 0 and off the loss.",
    ),
    "local_exponent": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.07), sigma=1.0),
        'Prior("LogNormal", mu=log(0.07), sigma=1.0)',
        "The log-log slope of the loss at the pivot along the ladder: 95% in 0.01-0.5. Ladders "
        "of small language models fall at 0.03-0.1 per e-fold of compute at their centre; the "
        "data pin it down tightly. The same prior as the loss law's.",
    ),
    "allocation": DefaultPrior(
        lambda loss_scale, split: Prior("Beta", alpha=split[0], beta=split[1]),
        'Prior("Beta", alpha=4, beta=4); one path: Beta with mean path_slope, sd 0.05 or the slope\'s standard error',
        "β/(α+β), the exponent of compute-optimal model size (N* ∝ C^allocation): 95% in "
        "0.18-0.82, about what two independent LogNormal(log 0.3, 0.5) priors on α and β imply. "
        "Published: Hoffmann 0.46-0.50, Epoch 0.51, Kaplan et al. 0.73. Where the runs lie on one "
        "path the data cannot tell it, and the default assumes the ladder is compute-optimal: the "
        "allocation is the path's own slope, within its standard error (informative, and warned).",
    ),
    "allocation_gap": DefaultPrior(
        lambda loss_scale, split: Prior("Normal", mu=0.0, sigma=split[2]),
        'Prior("Normal", mu=0, sigma=1); one path: sigma=0.2',
        "log(α·params_term / (β·tokens_term)) at the pivot: 0 where the pivot run splits its compute "
        "optimally, ±2 (95%) a model 2-3× too small or too large for its budget, which covers "
        "over-trained and under-trained ladders. Where the runs lie on one path the default takes "
        "them to be near compute-optimal (sd 0.2: about ±20% in model size; informative, and warned).",
    ),
    "sigma": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.02), sigma=0.75),
        'Prior("LogNormal", mu=log(0.02), sigma=0.75)',
        "Relative scatter of one run's loss around the law: seed noise (0.5–1%) plus the "
        "runs' distance from the ideal recipe (learning-rate schedules tuned for another "
        "length, digitising error): 95% in 0.46%–8.7%.",
    ),
    extrapolation.SCALE: extrapolation.DEFAULT_PRIOR,
}


def default_priors(loss_scale, split) -> dict[str, Prior]:
    """Default priors; ``loss_scale`` is the model's median-observed-loss data node, ``split`` the
    data node of (allocation's Beta alpha and beta, allocation_gap's sd) from ``split_prior``."""
    return build_default_priors(DEFAULT_PRIORS, loss_scale, split)


def split_prior(options: dict) -> tuple[float, float, float]:
    """(allocation's Beta alpha and beta, allocation_gap's sd): wide where the runs vary N and D
    apart; where they lie on one path, centred on a compute-optimal ladder along it."""
    if options["path_spread"] >= ONE_PATH_BELOW:
        return SPLIT_PRIOR["apart"]
    mean = float(np.clip(options["path_slope"], *ONE_PATH_ALLOCATION_RANGE))
    sd = max(ONE_PATH_ALLOCATION_SD, options["path_slope_se"])
    concentration = mean * (1 - mean) / sd**2 - 1
    return (mean * concentration, (1 - mean) * concentration, ONE_PATH_GAP_SD)


def exponents(local_exponent, loss_ref, params_term, tokens_term, allocation, path_slope):
    """(α, β) from the local exponent along the path and the allocation β/(α+β).

    Along the path ``d log N = a·d log C`` and ``d log D = (1 − a)·d log C``, so
    ``local_exponent·loss_ref = params_term·α·a + tokens_term·β·(1 − a)``; with
    ``α = γ/allocation`` and ``β = γ/(1 − allocation)`` that fixes γ.
    """
    a = path_slope
    gamma = local_exponent * loss_ref / (params_term * a / allocation + tokens_term * (1 - a) / (1 - allocation))
    return gamma / allocation, gamma / (1 - allocation)


def mean_loss(log_params_ratio, log_tokens_ratio, E, params_term, tokens_term, alpha, beta, xp=np):
    """Mean loss at ``log(N / N_ref)``, ``log(D / D_ref)``; ``xp`` is numpy or ``pm.math``."""
    return E + params_term * xp.exp(-alpha * log_params_ratio) + tokens_term * xp.exp(-beta * log_tokens_ratio)


def load(data) -> pd.DataFrame:
    """A runs table with ``params``, ``tokens`` and ``loss``; ``compute`` = 6·N·D when absent."""
    raw, label = read_table(data, "load_runs")
    missing = [name for name in (*TARGET_COLUMNS, "loss") if name not in raw.columns]
    if missing:
        raise DataError(
            f"the chinchilla law needs columns params, tokens and loss; {label} lacks {missing} "
            f"(it has {[str(c) for c in raw.columns]})"
        )
    if "compute" not in raw.columns:
        raw["compute"] = _six_nd(raw, "runs table")
    runs = load_runs(raw)
    runs.attrs["source"] = label
    return runs


def _six_nd(frame: pd.DataFrame, what: str) -> np.ndarray:
    """6·N·D per row; a DataError names the first row whose params or tokens is unusable."""
    values = {name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float) for name in TARGET_COLUMNS}
    for name, column in values.items():
        bad = np.flatnonzero(~(np.isfinite(column) & (column > 0)))
        if bad.size:
            row = int(bad[0])
            raise DataError(f"{what}: column {name!r}, row {row}: value {frame[name].iloc[row]!r} must be a finite number > 0")
    return FLOPS_PER_PARAM_TOKEN * values["params"] * values["tokens"]


def check_targets(table: pd.DataFrame, target, stacklevel: int = 2) -> pd.DataFrame:
    """Targets as a DataFrame with ``params``, ``tokens`` and ``compute`` (6·N·D unless given).

    Warns as the loss law does about targets inside, below or far past the fitted compute.
    """
    if not isinstance(target, pd.DataFrame):
        raise DataError(
            "the chinchilla law's target is a DataFrame with columns params and tokens "
            f"(one row per model to forecast), got {type(target).__name__}"
        )
    missing = [name for name in TARGET_COLUMNS if name not in target.columns]
    if missing:
        raise DataError(f"the target DataFrame lacks columns {missing}; it needs params and tokens")
    if len(target) == 0:
        raise DataError("the target DataFrame has no rows; give at least one (params, tokens) to forecast")
    six_nd = _six_nd(target, "target")
    compute = target["compute"].to_numpy() if "compute" in target.columns else six_nd
    compute = check_compute(table, compute, stacklevel=stacklevel + 1)
    return pd.DataFrame(
        {"compute": compute, "params": target["params"].to_numpy(dtype=float), "tokens": target["tokens"].to_numpy(dtype=float)}
    )


def quantities(options: dict) -> list[str]:
    return ["loss"]


def prepare(runs: pd.DataFrame, likelihood: str = "normal", extrapolation_error=False):
    """Every run is fitted; the pivots are the geometric means of the fitted N and D.

    ``path_slope`` is the slope of log N against log N + log D over the runs (the ladder's
    direction in the (log N, log D) plane); ``path_spread`` the sd of log(D/N) around its
    linear trend in log C: small when N and D rise together, and then the split between the
    two terms is not identified (warned here, before sampling). ``tokens_per_param`` (the
    fitted runs' median D/N) places a bare compute on the (N, D) plane, for the fan chart's
    curve. ``likelihood="student_t"`` gives the log loss Student-t noise (ν = 3): runs far off
    the law then pull the fit less, as in Epoch's Huber-loss refit (docs/chinchilla-law.md).
    ``extrapolation_error``: as the loss law's (laws/extrapolation.py), a deviation of the log loss
    from the law in log compute, nil at ``C_ref`` (the fitted compute's geometric mean); ``False``
    (the default, for now) fits the plain law. Its marginal is a normal: not with Student-t noise.
    """
    evaluation_noise.refuse_repeated_evaluations(runs, "chinchilla")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    scale_prior = extrapolation.scale_prior(extrapolation_error)
    if scale_prior > 0 and likelihood != "normal":
        raise ValueError(
            f"extrapolation_error={extrapolation_error!r} needs likelihood='normal': the runs' deviation from the "
            "law is integrated out as one normal, which Student-t noise is not"
        )
    options = {name + "_ref": float(gmean(runs[name].to_numpy())) for name in TARGET_COLUMNS}
    options["tokens_per_param"] = float(np.median(runs["tokens"] / runs["params"]))
    options["likelihood"] = likelihood
    options["compute_ref"] = float(gmean(runs["compute"].to_numpy(dtype=float)))
    options["extrapolation_scale_prior"] = scale_prior
    options["path_slope"], options["path_slope_se"], options["path_spread"] = _path(runs)
    if options["path_spread"] < ONE_PATH_BELOW:
        warnings.warn(
            f"the runs' tokens per parameter follow one path (log(D/N) within {options['path_spread']:.2f} of a "
            "line in log compute), so they cannot tell the parameter term of L(N, D) from the token term: the "
            "default priors take the ladder to be compute-optimal, and forecasts off its path (other tokens "
            "per parameter, compute_optimal) rest on that assumption, not on the data; add runs at other "
            "tokens per parameter (an IsoFLOP sweep) to test it, or use law='loss'",
            IdentifiabilityWarning,
            stacklevel=3,  # prepare <- forecast <- the caller
        )
    return Prepared(runs, {}, options)


def _path(runs: pd.DataFrame) -> tuple[float, float, float]:
    """(path_slope, its standard error, path_spread) of the runs' (log N, log D); see ``prepare``."""
    log_n = np.log(runs["params"].to_numpy(dtype=float))
    log_d = np.log(runs["tokens"].to_numpy(dtype=float))
    log_c = log_n + log_d - np.mean(log_n + log_d)
    spread_c = float(np.sum(log_c**2))
    if spread_c < 1e-12 or len(runs) < 3:  # one compute for every run: no direction to speak of
        return 0.5, 0.5, float(np.std(log_d - log_n))
    slope = float(np.sum(log_c * (log_n - log_n.mean())) / spread_c)
    residual = log_n - log_n.mean() - slope * log_c  # log N off the path = half of log(D/N) off its trend
    slope_se = float(np.sqrt(np.sum(residual**2) / (len(runs) - 2) / spread_c))
    return float(np.clip(slope, *PATH_SLOPE_RANGE)), slope_se, float(2 * np.std(residual))


def structure(options: dict) -> tuple:
    """What changes the model's graph besides the priors: a compiled sampler is reused only within it."""
    return (options["likelihood"], ("extrapolation_error", extrapolation.asked_for(options)))


def tune_steps(options: dict) -> int:
    """Default tuning steps: the extrapolation error's scale needs the longer adaptation."""
    return TUNE_WITH_EXTRAPOLATION_ERROR if extrapolation.asked_for(options) else TUNE


def build_model(prepared: Prepared, priors: dict[str, Prior]) -> pm.Model:
    """The PyMC model; every data-dependent number is a ``pm.Data`` node (compiled once per shape)."""
    runs, options = prepared.table, prepared.options
    loss = runs["loss"].to_numpy(dtype=float)
    with pm.Model() as model:
        log_n = pm.Data("log_params_ratio", np.log(runs["params"].to_numpy(dtype=float) / options["params_ref"]))
        log_d = pm.Data("log_tokens_ratio", np.log(runs["tokens"].to_numpy(dtype=float) / options["tokens_ref"]))
        log_n_ref = pm.Data("log_params_ref", np.log(options["params_ref"]))
        log_d_ref = pm.Data("log_tokens_ref", np.log(options["tokens_ref"]))
        path_slope = pm.Data("path_slope", options["path_slope"])
        loss_scale = pm.Data("loss_scale", float(np.median(loss)))
        split = pm.Data("split_prior", np.asarray(split_prior(options)))
        log_loss = pm.Data("log_loss", np.log(loss))
        chosen = {**default_priors(loss_scale, split), **priors}
        p = {name: chosen[name].create_variable(name) for name in PARAMETERS}
        reducible = p["reducible_fraction"] * p["loss_ref"]
        E = pm.Deterministic("E", p["loss_ref"] - reducible)
        # α/β = (1 − allocation)/allocation, so α·P/(β·T) = e^gap fixes the share P/(P + T)
        allocation = p["allocation"]
        share = pm.Deterministic("params_share", pm.math.sigmoid(p["allocation_gap"] + pt.log(allocation) - pt.log1p(-allocation)))
        params_term = pm.Deterministic("params_term", share * reducible)
        tokens_term = pm.Deterministic("tokens_term", (1 - share) * reducible)
        alpha, beta = exponents(p["local_exponent"], p["loss_ref"], params_term, tokens_term, p["allocation"], path_slope)
        alpha, beta = pm.Deterministic("alpha", alpha), pm.Deterministic("beta", beta)
        pm.Deterministic("A", params_term * pm.math.exp(alpha * log_n_ref))
        pm.Deterministic("B", tokens_term * pm.math.exp(beta * log_d_ref))
        mu = mean_loss(log_n, log_d, E, params_term, tokens_term, alpha, beta, xp=pm.math)
        if options.get("likelihood", "normal") == "student_t":  # never with the extrapolation error (prepare)
            pm.StudentT("log_loss_obs", nu=STUDENT_T_NU, mu=pm.math.log(mu), sigma=p["sigma"], observed=log_loss)
        else:  # as the loss law's: log-normal run noise, and the extrapolation error where asked for
            x = None
            if extrapolation.asked_for(options):  # its kernel's argument, a data node only where it is used
                x = pm.Data("log_compute_ratio", np.log(runs["compute"].to_numpy(dtype=float) / options["compute_ref"]))
            observe_log_loss("log_loss_obs", x, pm.math.log(mu), p["sigma"], log_loss, options)
    return model


def predict(posterior, constant, options: dict, targets, rng: np.random.Generator):
    """Draws of one new run's loss (``loss``) and of the mean (``mean_loss``) at each (N, D).

    ``targets`` is a DataFrame with ``params`` and ``tokens``, or bare compute, placed at
    the fitted runs' median tokens per parameter (``D = r·N``, ``C = 6·N·D``).
    """
    if not isinstance(targets, pd.DataFrame):
        compute = np.asarray(targets, dtype=float)
        ratio = options["tokens_per_param"]
        params = np.sqrt(compute / (FLOPS_PER_PARAM_TOKEN * ratio))
        targets = pd.DataFrame({"params": params, "tokens": ratio * params, "compute": compute})
    log_n = np.log(targets["params"].to_numpy(dtype=float) / options["params_ref"])
    log_d = np.log(targets["tokens"].to_numpy(dtype=float) / options["tokens_ref"])
    p = {name: np.asarray(posterior[name])[..., None] for name in ("E", "params_term", "tokens_term", "alpha", "beta", "sigma")}
    mean = mean_loss(log_n, log_d, p["E"], p["params_term"], p["tokens_term"], p["alpha"], p["beta"])
    if extrapolation.SCALE in posterior:  # the law is only approximately right: its deviation there
        compute = targets["compute"].to_numpy(dtype=float) if "compute" in targets else _six_nd(targets, "target")
        x = np.log(compute / options["compute_ref"])
        mean = mean * np.exp(extrapolation.deviation_at(posterior, constant, options, x, rng))
    robust = options.get("likelihood", "normal") == "student_t"
    noise = rng.standard_t(STUDENT_T_NU, mean.shape) if robust else rng.standard_normal(mean.shape)
    return {"loss": mean * np.exp(p["sigma"] * noise), "mean_loss": mean}


def run_log_density(posterior, options: dict, mean, observed):
    """One new run's log-density per draw (laws/run_noise.py), with this fit's likelihood."""
    nu = STUDENT_T_NU if options.get("likelihood", "normal") == "student_t" else None
    return run_noise.log_density(posterior, options, mean, observed, nu=nu)


def loo_log_likelihood(posterior, constant, options: dict):
    """Pointwise leave-one-out log-densities with the extrapolation error (the runs are one
    multivariate normal then); None when the sampler's own pointwise terms are right."""
    return extrapolation.loo_terms("log_loss_obs", posterior, constant, options)


LAW = Law(
    name=NAME,
    observed="loss",
    formula="L(N, D) = E + A/N^α + B/D^β",
    assumption="that the loss is an irreducible constant plus a power law in parameters and a power law in training tokens",
    parameters=PARAMETERS,
    derived=DERIVED,
    diagnosed=PARAMETERS + DERIVED + (extrapolation.SCALE,),  # the scale only where the option adds it
    prior_names=PARAMETERS,
    support=SUPPORT,
    default_priors=DEFAULT_PRIORS,
    # As in the loss law: where the data barely tell the curvature in N (α), E has a long tail
    # towards 0 (Li et al.'s ladder: 1-6 divergent transitions and a tail ESS of 270-430 per
    # 4,000 draws at 0.95; none at 0.99).
    target_accept=0.99,
    dense_mass=True,  # loss_ref, the fraction and the exponent trade off linearly, as in the loss law
    tune=TUNE,
    tune_steps=tune_steps,
    load=load,
    prepare=prepare,
    build_model=build_model,
    predict=predict,
    quantities=quantities,
    check_targets=check_targets,
    target_columns=TARGET_COLUMNS,
    target_help={"params": ("N", "target parameters N"), "tokens": ("D", "target training tokens D")},
    structure=structure,
    loo_log_likelihood=loo_log_likelihood,
    run_log_density=run_log_density,
    cli_options=(extrapolation.CLI_OPTION,),
)
