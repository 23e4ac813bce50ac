"""The Chinchilla law ``L(N, D) = E + A/N^α + B/D^β`` as a PyMC model, and compute-optimal allocation.

Labs over-train small models, so the loss depends on parameters ``N`` and tokens ``D``
separately, not on compute alone. Hoffmann et al. (2022) fitted this form; Epoch AI
refitted it on the digitised points. Why this parameterisation: ``A`` and ``B`` are
numbers like 400 or 2000 multiplying ``N^-0.34`` with ``N`` around 1e9, so ``A`` and
``α`` trade off along a thin ridge. The data pin down the size of each term at the
middle of the ladder, so the model samples

- ``E``: the irreducible loss;
- ``params_term`` = ``A / N_ref^α``, ``tokens_term`` = ``B / D_ref^β``: the two reducible
  terms at the reference size ``N_ref`` and token count ``D_ref`` (geometric means of
  the fitted runs);
- ``alpha``, ``beta``: the exponents;
- ``sigma``: the relative (log-scale) run-to-run noise, as in the loss law.

``A`` and ``B`` are derived. Every default prior is in ``PRIOR_REASONS`` and in
docs/chinchilla-law.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior

from bayes_scaling.data import DataError, check_targets as check_compute, load_runs, read_table

NAME = "chinchilla"
OBSERVED = "loss"
FORMULA = "L(N, D) = E + A/N^α + B/D^β"
ASSUMPTION = "that the loss is an irreducible constant plus a power law in parameters and a power law in training tokens"
PARAMETERS = ("E", "params_term", "tokens_term", "alpha", "beta", "sigma")
DERIVED = ("A", "B")
DIAGNOSED = PARAMETERS + DERIVED
PRIOR_NAMES = PARAMETERS
DENSE_MASS = True  # E trades off against the two terms: strong linear correlations
TARGET_ACCEPT = 0.95
# Columns a run needs to be a target of this law (the backtest hands held-out runs over).
TARGET_COLUMNS = ("params", "tokens")
FLOPS_PER_PARAM_TOKEN = 6.0  # C = 6·N·D, training FLOPs of a dense transformer
LIKELIHOODS = ("normal", "student_t")
STUDENT_T_NU = 3.0  # heavy tails: a run 5 sigma off the law weighs like one 1.4 sigma off

SUPPORT = {
    "E": (0.0, np.inf),
    "params_term": (0.0, np.inf),
    "tokens_term": (0.0, np.inf),
    "alpha": (0.0, np.inf),
    "beta": (0.0, np.inf),
    "sigma": (0.0, np.inf),
}

PRIOR_REASONS = {
    "E": (
        'Prior("LogNormal", mu=log(median observed loss / 2), sigma=0.5)',
        "The irreducible loss is below every observed loss, and on language-model ladders "
        "about half to two thirds of the typical loss (Hoffmann: 1.69; Epoch: 1.82, against "
        "losses of 2-4). 95% of the prior lies between 0.19 and 1.3 times the median loss.",
    ),
    "params_term": (
        'Prior("LogNormal", mu=log(median observed loss / 4), sigma=1.0)',
        "A/N^α at the median model size: each of the two reducible terms is of the order "
        "of a quarter of the loss in the middle of a ladder; e^±2 (95%: ×0.14–×7) lets the "
        "data decide.",
    ),
    "tokens_term": (
        'Prior("LogNormal", mu=log(median observed loss / 4), sigma=1.0)',
        "B/D^β at the median token count: the same reasoning as params_term.",
    ),
    "alpha": (
        'Prior("LogNormal", mu=log(0.3), sigma=0.5)',
        "Exponent of model size: 95% in 0.11–0.80. Published fits of this form give "
        "0.28–0.35 (Hoffmann 0.34, Epoch 0.35, Besiroglu et al.'s replication).",
    ),
    "beta": (
        'Prior("LogNormal", mu=log(0.3), sigma=0.5)',
        "Exponent of training tokens: 95% in 0.11–0.80 (Hoffmann 0.28, Epoch 0.37).",
    ),
    "sigma": (
        'Prior("LogNormal", mu=log(0.02), sigma=0.75)',
        "Relative scatter of one run's loss around the law: seed noise (0.5–1%) plus the "
        "runs' distance from the ideal recipe (learning-rate schedules tuned for another "
        "length, digitising error): 95% in 0.46%–8.7%.",
    ),
}


def default_priors(loss_scale) -> dict[str, Prior]:
    """Default priors; ``loss_scale`` is the model's median-observed-loss data node."""
    return {
        "E": Prior("LogNormal", mu=pt.log(loss_scale / 2), sigma=0.5),
        "params_term": Prior("LogNormal", mu=pt.log(loss_scale / 4), sigma=1.0),
        "tokens_term": Prior("LogNormal", mu=pt.log(loss_scale / 4), sigma=1.0),
        "alpha": Prior("LogNormal", mu=np.log(0.3), sigma=0.5),
        "beta": Prior("LogNormal", mu=np.log(0.3), sigma=0.5),
        "sigma": Prior("LogNormal", mu=np.log(0.02), sigma=0.75),
    }


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


def prepare(runs: pd.DataFrame, likelihood: str = "normal"):
    """Every run is fitted; the pivots are the geometric means of the fitted N and D.

    ``tokens_per_param`` (the fitted runs' median D/N) places a bare compute on the
    (N, D) plane, for the fan chart's curve. ``likelihood="student_t"`` gives the log
    loss Student-t noise (ν = 3): runs far off the law then pull the fit less, as in
    Epoch's Huber-loss refit (docs/chinchilla-law.md).
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    options = {name + "_ref": float(np.exp(np.log(runs[name].to_numpy()).mean())) for name in TARGET_COLUMNS}
    options["tokens_per_param"] = float(np.median(runs["tokens"] / runs["params"]))
    options["likelihood"] = likelihood
    return runs, {}, options


def structure(options: dict) -> tuple:
    """What changes the model's graph besides the priors: a compiled sampler is reused only within it."""
    return (options["likelihood"],)


def build_model(runs: pd.DataFrame, per_problem: dict, options: dict, priors: dict[str, Prior]) -> pm.Model:
    """The PyMC model; every data-dependent number is a ``pm.Data`` node (compiled once per shape)."""
    loss = runs["loss"].to_numpy(dtype=float)
    with pm.Model() as model:
        log_n = pm.Data("log_params_ratio", np.log(runs["params"].to_numpy(dtype=float) / options["params_ref"]))
        log_d = pm.Data("log_tokens_ratio", np.log(runs["tokens"].to_numpy(dtype=float) / options["tokens_ref"]))
        log_n_ref = pm.Data("log_params_ref", np.log(options["params_ref"]))
        log_d_ref = pm.Data("log_tokens_ref", np.log(options["tokens_ref"]))
        loss_scale = pm.Data("loss_scale", float(np.median(loss)))
        log_loss = pm.Data("log_loss", np.log(loss))
        chosen = {**default_priors(loss_scale), **priors}
        p = {name: chosen[name].create_variable(name) for name in PARAMETERS}
        pm.Deterministic("A", p["params_term"] * pm.math.exp(p["alpha"] * log_n_ref))
        pm.Deterministic("B", p["tokens_term"] * pm.math.exp(p["beta"] * log_d_ref))
        mu = mean_loss(log_n, log_d, p["E"], p["params_term"], p["tokens_term"], p["alpha"], p["beta"], xp=pm.math)
        if options.get("likelihood", "normal") == "student_t":
            pm.StudentT("log_loss_obs", nu=STUDENT_T_NU, mu=pm.math.log(mu), sigma=p["sigma"], observed=log_loss)
        else:
            pm.Normal("log_loss_obs", mu=pm.math.log(mu), sigma=p["sigma"], observed=log_loss)
    return model


def predict(posterior, constant, options: dict, targets, rng: np.random.Generator, max_draws=None):
    """Draws of one new run's loss (``loss``) and of the mean (``mean_loss``) at each (N, D).

    ``targets`` is a DataFrame with ``params`` and ``tokens``, or bare compute, placed at
    the fitted runs' median tokens per parameter (``D = r·N``, ``C = 6·N·D``).
    """
    if not isinstance(targets, pd.DataFrame):
        compute = np.asarray(targets, dtype=float)
        ratio = options["tokens_per_param"]
        params = np.sqrt(compute / (FLOPS_PER_PARAM_TOKEN * ratio))
        targets = pd.DataFrame({"params": params, "tokens": ratio * params})
    log_n = np.log(targets["params"].to_numpy(dtype=float) / options["params_ref"])
    log_d = np.log(targets["tokens"].to_numpy(dtype=float) / options["tokens_ref"])
    p = {name: np.asarray(posterior[name])[..., None] for name in PARAMETERS}
    mean = mean_loss(log_n, log_d, p["E"], p["params_term"], p["tokens_term"], p["alpha"], p["beta"])
    robust = options.get("likelihood", "normal") == "student_t"
    noise = rng.standard_t(STUDENT_T_NU, mean.shape) if robust else rng.standard_normal(mean.shape)
    return {"loss": mean * np.exp(p["sigma"] * noise), "mean_loss": mean}


def compute_optimal(fc, budget) -> pd.DataFrame:
    """Compute-optimal N*, D* and tokens per parameter at each budget C (FLOPs, C = 6·N·D).

    Per posterior draw, in closed form (minimise A/N^α + B/D^β with D = C/(6N)):
    ``N* = G·(C/6)^(β/(α+β))`` with ``G = (αA/(βB))^(1/(α+β))``, ``D* = C/(6·N*)``.
    One row per budget and quantity (``params``, ``tokens``, ``tokens_per_param``) with
    the posterior median and equal-tailed 50% and 90% intervals.
    """
    from bayes_scaling.forecast import interval_frame

    if getattr(fc, "law", None) != NAME:
        raise ValueError(f"compute_optimal needs a forecast of the chinchilla law, got law {getattr(fc, 'law', None)!r}")
    budgets = np.atleast_1d(np.asarray(budget, dtype=float))
    if budgets.ndim != 1 or budgets.size == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):
        raise ValueError(f"budget must be one or more finite compute budgets > 0 (FLOPs), got {budget!r}")
    post = fc.idata.posterior
    alpha, beta, A, B = (post[name].to_numpy().reshape(-1, 1) for name in ("alpha", "beta", "A", "B"))
    half = budgets / FLOPS_PER_PARAM_TOKEN
    # in logs: A and B are large, (C/6)^... overflows nothing but stays exact
    log_g = (np.log(alpha * A) - np.log(beta * B)) / (alpha + beta)
    params = np.exp(log_g + beta / (alpha + beta) * np.log(half))
    tokens = half / params
    frames = [
        interval_frame(draws, budget=budgets).assign(quantity=name)
        for name, draws in (("params", params), ("tokens", tokens), ("tokens_per_param", tokens / params))
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["budget", "quantity"] + [c for c in frame.columns if c not in ("budget", "quantity")]]
