"""The two-step capability law: compute → task loss → accuracy, fitted jointly in one PyMC model.

Benchmark accuracy jumps and saturates, so a law straight from compute to accuracy has to
guess where the jump happens. The Llama 3 and OLMo ladder papers forecast it in two steps
instead: a smooth power law takes compute to the *task loss* (the negative log-likelihood
of the correct answers, which falls steadily), and a sigmoid takes task loss to accuracy.

- Step one is the loss law (``laws/loss.py``) on the task loss, with its parameters,
  priors and pivot parameterisation: ``task_loss(C) = a·C^b + c``, relative run noise
  ``sigma``.
- Step two: ``accuracy = floor + (ceiling − floor)·sigmoid(logit q_ref − steepness·u)``
  with ``u = (task_loss − ℓ_ref)/ℓ_ref`` and ``ℓ_ref`` the geometric mean of the observed
  task losses. ``floor`` is the chance level, given (0.25 for 4-way multiple choice, 0
  for open answers). Sampled near the data, like step one: ``lift_ref`` (accuracy at
  ``ℓ_ref`` as a fraction of the way from floor to 1), ``slope_ref`` (−d accuracy / d log
  task loss there) and ``headroom`` (the ceiling as a fraction of the way from that
  accuracy to 1); ``ceiling``, ``steepness`` and ``loss_mid`` (task loss at half-way) are
  derived.
- A run's accuracy varies around the curve (seeds, data order) like a Beta with sd
  about ``accuracy_noise`` at 50%; with the number of task items known, the measured
  score is binomial on top (a beta-binomial likelihood), else the accuracy itself is
  Beta-distributed.

Step two is fitted on each run's *measured* task loss, so with every task loss observed
the likelihood factorises; the joint model matters for the forecast: every posterior
draw takes the task loss of a new run at the target from step one (curve and run noise)
through that draw's sigmoid, so step one's uncertainty flows into the accuracy interval.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior
from scipy.stats import gmean

from bayes_scaling.tables import DataError, load_capability_runs
from bayes_scaling.laws import extrapolation, loss
from bayes_scaling.laws.law import CliOption, DefaultPrior, Law, Prepared, build_default_priors

STEP_ONE = loss.PARAMETERS
STEP_TWO = ("lift_ref", "slope_ref", "headroom", "accuracy_noise")
PARAMETERS = STEP_ONE + STEP_TWO
DERIVED = loss.DERIVED + ("accuracy_ref", "ceiling", "steepness", "loss_mid")
TUNE = 1000  # without the extrapolation error (tune_steps)
PRIOR_ALTERNATIVES = loss.PRIOR_ALTERNATIVES

SUPPORT = {
    **loss.SUPPORT,
    "lift_ref": (0.0, 1.0),
    "slope_ref": (0.0, np.inf),
    "headroom": (0.0, 1.0),
    "accuracy_noise": (0.0, np.inf),
}

STEP_TWO_PRIORS = {
    "lift_ref": DefaultPrior(
        Prior("Beta", alpha=1.5, beta=1.5),
        'Prior("Beta", alpha=1.5, beta=1.5)',
        "The accuracy at the reference task loss, as a fraction of the way from the floor to 1. "
        "It sits among the observed accuracies, which pin it down; the prior only keeps it off "
        "the floor and off 1.",
    ),
    "slope_ref": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.3), sigma=1.0),
        'Prior("LogNormal", mu=log(0.3), sigma=1.0)',
        "−d accuracy / d log(task loss) at the reference: 0.4 means a 1% lower task loss buys 0.4 "
        "points of accuracy. Pythia on LAMBADA: 0.43; 95% of the prior lies in 0.04-2.1. "
        "Unit-free, so bits and nats give the same prior.",
    ),
    "headroom": DefaultPrior(
        Prior("Beta", alpha=3.0, beta=1.0),
        'Prior("Beta", alpha=3, beta=1)',
        "The ceiling as a fraction of the way from the accuracy at the reference to 1. Label noise "
        "and ambiguous items keep the best models short of 100%, but ladders rarely see the "
        "plateau: the prior leans high (median 0.79, 95% 0.29-0.99) and the data can pull it down. "
        "Where the forecast runs close to the ceiling, this prior matters: check it.",
    ),
    "accuracy_noise": DefaultPrior(
        Prior("LogNormal", mu=np.log(0.01), sigma=1.0),
        'Prior("LogNormal", mu=log(0.01), sigma=1.0)',
        "How far one run's accuracy sits off the curve at a given task loss (sd at 50% accuracy, "
        "beyond item sampling): seeds and data order move scores by about a point; 95% of the "
        "prior lies in 0.14-7 points.",
    ),
}


# both steps' defaults, as reports show them: step one's are the loss law's
DEFAULT_PRIORS = {
    **{name: replace(default, reason="Step one (task loss): " + default.reason) for name, default in loss.DEFAULT_PRIORS.items()},
    **STEP_TWO_PRIORS,
}


def default_step_two_priors() -> dict[str, Prior]:
    return build_default_priors(STEP_TWO_PRIORS)


def accuracy_curve(relative_task_loss, floor, accuracy_ref, ceiling, slope_ref, xp=np):
    """Mean accuracy at ``u = (task_loss − ℓ_ref)/ℓ_ref``; ``xp`` is numpy or ``pm.math``."""
    span = ceiling - floor
    q_ref = (accuracy_ref - floor) / span
    steepness = slope_ref / (span * q_ref * (1 - q_ref))
    logit_ref = xp.log(q_ref) - xp.log(1 - q_ref)
    return floor + span * _sigmoid(logit_ref - steepness * relative_task_loss, xp)


def _sigmoid(z, xp):
    return pm.math.sigmoid(z) if xp is pm.math else 1 / (1 + np.exp(-z))


def load(data) -> pd.DataFrame:
    return load_capability_runs(data)


def quantities(options: dict) -> list[str]:
    return ["accuracy", "task_loss"]


def prepare(table: pd.DataFrame, floor: float = 0.0, items: int | None = None, extrapolation_error=False):
    """Check the options against the table; C_ref and ℓ_ref are geometric means of the data.

    ``floor``: the chance level of the task (0.25 for 4-way multiple choice). ``items``:
    the number of items the accuracy was measured on (binomial likelihood), or None.
    ``extrapolation_error``: the loss law's option, for the task loss of step one.
    """
    if isinstance(floor, bool) or not isinstance(floor, (int, float, np.integer, np.floating)) or not 0 <= floor < 1:
        raise ValueError(f"floor (the chance level of the task) must lie in [0, 1), got {floor!r}")
    accuracy = table["accuracy"].to_numpy(dtype=float)
    if items is not None:
        whole = isinstance(items, (int, np.integer, float, np.floating)) and not isinstance(items, bool) and float(items).is_integer()
        if not whole or items < 1:
            raise ValueError(f"items (the number of task items) must be a positive integer, got {items!r}")
        items = int(items)
        counts = accuracy * items
        off = np.flatnonzero(np.abs(counts - np.round(counts)) > 1e-6 * items + 1e-9)
        if off.size:
            row = int(off[0])
            raise DataError(
                f"column 'accuracy', row {row}: value {accuracy[row]!r} × items={items} = {counts[row]:.4g} "
                "is not a whole number of items; check items (or leave it unset)"
            )
    else:
        edge = np.flatnonzero((accuracy <= 0) | (accuracy >= 1))
        if edge.size:
            row = int(edge[0])
            raise DataError(
                f"column 'accuracy', row {row}: value {accuracy[row]!r} is exactly 0 or 1, which a Beta "
                "likelihood cannot fit; give items= (the number of task items) for a binomial likelihood"
            )
    options = {
        "compute_ref": float(gmean(table["compute"].to_numpy())),
        "task_loss_ref": float(gmean(table["task_loss"].to_numpy())),
        "floor": float(floor),
        "items": items,
        "extrapolation_scale_prior": extrapolation.scale_prior(extrapolation_error),
    }
    return Prepared(table, {}, options)


def structure(options: dict) -> tuple:
    """With or without the task loss's extrapolation error: two different graphs."""
    return loss.structure(options)


def tune_steps(options: dict) -> int:
    """Default tuning steps: the extrapolation error's scale needs the longer adaptation, as in the loss law."""
    return loss.TUNE_WITH_EXTRAPOLATION_ERROR if extrapolation.asked_for(options) else TUNE


def build_model(prepared: Prepared, priors: dict[str, Prior]) -> pm.Model:
    table, options = prepared.table, prepared.options
    compute = table["compute"].to_numpy(dtype=float)
    task_loss = table["task_loss"].to_numpy(dtype=float)
    accuracy = table["accuracy"].to_numpy(dtype=float)
    with pm.Model() as model:
        # every option and data-derived number is a data node, not a constant in the graph:
        # a compiled sampler is reused for data of the same shape (inference/nuts.py)
        floor = pm.Data("floor", options["floor"])
        task_loss_ref = pm.Data("task_loss_ref", options["task_loss_ref"])
        # step one: compute -> task loss (the loss law, same variables and geometry)
        x = pm.Data("log_compute_ratio", np.log(compute / options["compute_ref"]))
        log_c_ref = pm.Data("log_compute_ref", np.log(options["compute_ref"]))
        loss_scale = pm.Data("loss_scale", float(np.median(task_loss)))
        log_task_loss = pm.Data("log_task_loss", np.log(task_loss))
        step_one = {name: prior for name, prior in priors.items() if name not in STEP_TWO}
        loss_ref, fraction, b, sigma = loss.power_law_variables(step_one, loss_scale, log_c_ref)
        mu = loss.mean_loss(x, loss_ref, fraction, b, xp=pm.math)
        loss.observe_log_loss("log_task_loss_obs", x, pm.math.log(mu), sigma, log_task_loss, options)

        # step two: task loss -> accuracy
        u = pm.Data("relative_task_loss", task_loss / options["task_loss_ref"] - 1)
        chosen = {**default_step_two_priors(), **{n: p for n, p in priors.items() if n in STEP_TWO}}
        lift = chosen["lift_ref"].create_variable("lift_ref")
        slope = chosen["slope_ref"].create_variable("slope_ref")
        headroom = chosen["headroom"].create_variable("headroom")
        noise = chosen["accuracy_noise"].create_variable("accuracy_noise")
        accuracy_ref = pm.Deterministic("accuracy_ref", floor + (1 - floor) * lift)
        ceiling = pm.Deterministic("ceiling", accuracy_ref + (1 - accuracy_ref) * headroom)
        span = ceiling - floor
        q_ref = (accuracy_ref - floor) / span
        steepness = pm.Deterministic("steepness", slope / (span * q_ref * (1 - q_ref)))
        pm.Deterministic("loss_mid", task_loss_ref * (1 + (pt.log(q_ref) - pt.log1p(-q_ref)) / steepness))
        p = accuracy_curve(u, floor, accuracy_ref, ceiling, slope, xp=pm.math)
        concentration = 0.25 / noise**2  # Beta sd at p = 0.5 ≈ accuracy_noise
        if options["items"] is None:
            observed = pm.Data("accuracy_data", accuracy)
            pm.Beta("accuracy_obs", alpha=p * concentration, beta=(1 - p) * concentration, observed=observed)
        else:
            correct = pm.Data("correct_data", np.round(accuracy * options["items"]).astype(int))
            items = pm.Data("items", options["items"])
            pm.BetaBinomial(
                "accuracy_obs", n=items, alpha=p * concentration, beta=(1 - p) * concentration, observed=correct
            )
    return model


def predict(posterior, constant, options: dict, compute: np.ndarray, rng: np.random.Generator):
    """Task loss and accuracy of one new run (predictive) and of the mean curve at ``compute``.

    The predictive accuracy takes the new run's task loss (mean curve × run noise) through
    the sigmoid, adds the run's own accuracy noise (Beta) and, with ``items`` known, the
    binomial noise of scoring it on that many items: it is comparable to a measured score.
    """
    names = ("loss_ref", "reducible_fraction", "b", "sigma", "accuracy_ref", "ceiling", "slope_ref", "accuracy_noise")
    p = {name: np.asarray(posterior[name])[..., None] for name in names}
    x = np.log(np.asarray(compute, dtype=float) / options["compute_ref"])
    mean_loss = loss.mean_loss(x, p["loss_ref"], p["reducible_fraction"], p["b"])
    if extrapolation.SCALE in posterior:  # step one's law is only approximately right: its deviation there
        mean_loss = mean_loss * np.exp(extrapolation.deviation_at(posterior, constant, options, x, rng))
    new_loss = mean_loss * np.exp(p["sigma"] * rng.standard_normal(mean_loss.shape))

    def curve(task_loss):
        u = task_loss / options["task_loss_ref"] - 1
        return accuracy_curve(u, options["floor"], p["accuracy_ref"], p["ceiling"], p["slope_ref"])

    mean_accuracy = curve(mean_loss)
    expected = np.clip(curve(new_loss), 1e-12, 1 - 1e-12)
    concentration = 0.25 / p["accuracy_noise"] ** 2
    run_accuracy = rng.beta(expected * concentration, (1 - expected) * concentration)
    if options["items"] is not None:
        run_accuracy = rng.binomial(options["items"], run_accuracy) / options["items"]
    return {"accuracy": run_accuracy, "mean_accuracy": mean_accuracy, "task_loss": new_loss, "mean_task_loss": mean_loss}


def loo_log_likelihood(posterior, constant, options: dict):
    """With the task loss's extrapolation error its runs are one multivariate normal: their
    leave-one-out terms in closed form (the accuracy's stay the sampler's); else None."""
    return extrapolation.loo_terms("log_task_loss_obs", posterior, constant, options)


def run_performance(posterior, constant, runs: pd.DataFrame, options: dict, rng: np.random.Generator):
    """Each fitted run's accuracy as its measurement says: (compute per run, {"accuracy": draws}).

    Draws have shape (chain, draw, run). With ``items`` known, a run's accuracy on the
    task's population of items has the Jeffreys posterior Beta(correct + ½, items − correct
    + ½) given its score: the data alone, not pulled towards the (rising) fitted curve.
    Without ``items`` the measured accuracy is taken as it is. Used by the trend-reversal
    check (``bayes_scaling/checks/trend_reversal.py``).
    """
    accuracy = runs["accuracy"].to_numpy(dtype=float)
    compute = runs["compute"].to_numpy(dtype=float)
    shape = np.shape(posterior["b"]) + accuracy.shape
    if options["items"] is None:
        return compute, {"accuracy": np.broadcast_to(accuracy, shape).copy()}
    correct = np.round(accuracy * options["items"])
    return compute, {"accuracy": rng.beta(correct + 0.5, options["items"] - correct + 0.5, size=shape)}


def caveats(options: dict) -> list[str]:
    """The report's caveat: how the law fared on real data."""
    return ["The two-step law is experimental: on Pythia its accuracy intervals were too narrow (docs/two-step-law.md)."]


LAW = Law(
    name="two_step",
    observed="accuracy",
    formula="task loss ℓ(C) = a·C^b + c, accuracy = floor + (ceiling − floor)·sigmoid(−steepness·(ℓ − loss_mid)/ℓ_ref)",
    assumption="that the task loss follows one power law plus a constant and accuracy one sigmoid of it",
    rising=True,
    parameters=PARAMETERS,
    derived=DERIVED,
    diagnosed=PARAMETERS + DERIVED + (extrapolation.SCALE,),  # the scale only where the option adds it
    prior_names=PARAMETERS + ("b",),
    support=SUPPORT,
    default_priors=DEFAULT_PRIORS,
    prior_alternatives=PRIOR_ALTERNATIVES,
    target_accept=0.99,  # as the loss law: its funnel in sigma is in step one
    dense_mass=True,  # eight parameters; ceiling, slope and level trade off
    tune=TUNE,
    tune_steps=tune_steps,
    load=load,
    prepare=prepare,
    build_model=build_model,
    predict=predict,
    quantities=quantities,
    structure=structure,
    loo_log_likelihood=loo_log_likelihood,
    run_performance=run_performance,
    caveats=caveats,
    cli_options=(
        CliOption("floor", "chance accuracy of the task (default 0; 0.25 for 4-way choice)", type=float),
        CliOption("items", "number of task items the accuracy was measured on", type=int),
        extrapolation.CLI_OPTION,
    ),
)
