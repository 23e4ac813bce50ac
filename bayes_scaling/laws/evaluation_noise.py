"""Run-to-run noise and evaluation noise, told apart where runs were evaluated more than once.

Why: a run's final loss measured several times (an ``evaluation`` column; tables/evaluations.py)
says two things. How far its evaluations spread is the noise of evaluating (``sigma_eval``); how
far runs fall from the law, beyond what their evaluations explain, is the noise of a run itself:
its seed, its data order (``sigma_run``). Fitted as independent rows, a run with five evaluations
would count as five runs and the law's noise would be mostly the evaluations': the curve would
look better pinned, and a new run's interval narrower, than they are.

The law is fitted on one row per run (its evaluations' geometric mean ``ȳ_r`` over ``m_r``
evaluations, their sum of squared log deviations ``S_r``). With ``log y_rj = log L(C_r) + ε_r +
η_rj``, ``ε_r ~ N(0, sigma_run)``, ``η_rj ~ N(0, sigma_eval)``, the evaluations of one run are
jointly normal, and their density splits exactly into

- the run's mean: ``log ȳ_r ~ N(log L(C_r), sqrt(sigma_run² + sigma_eval²/m_r))``, the observed
  variable (so leave-one-out leaves out a whole run), and
- the spread within the run, which only ``sigma_eval`` explains:
  ``-(m_r - 1)·log sigma_eval - S_r / (2·sigma_eval²)``, a potential.

A new run evaluated once, as the table's rows were, has noise ``sqrt(sigma_run² + sigma_eval²)``
(the forecast's ``loss``); the run's own loss, without evaluation noise, has ``sigma_run``
(``run_loss``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_scaling.tables import DataError
from bayes_scaling.tables.evaluations import EVALUATIONS, SPREAD, has_repeated_evaluations, per_run

SPLIT = ("sigma_run", "sigma_eval")


def fitted_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The rows the law fits and whether the noise is split: one row per run where some run was
    evaluated more than once (or the table is already such a summary: a refit of a forecast's
    runs), else the rows as they are."""
    if has_repeated_evaluations(runs):
        return per_run(runs), True
    if EVALUATIONS in runs.columns and SPREAD in runs.columns:
        _check_summary(runs)
        return runs, bool((runs[EVALUATIONS] > 1).any())
    return runs, False


def _check_summary(runs: pd.DataFrame) -> None:
    for row, (m, spread) in enumerate(zip(runs[EVALUATIONS].tolist(), runs[SPREAD].tolist())):
        if not (float(m).is_integer() and m >= 1):
            raise DataError(f"column {EVALUATIONS!r}, row {row}: {m!r} must be a whole number of evaluations >= 1")
        if not (np.isfinite(spread) and spread >= 0) or (m == 1 and spread != 0):
            raise DataError(f"column {SPREAD!r}, row {row}: {spread!r} must be finite and >= 0 (0 for a run evaluated once)")


def refuse_split_priors(priors: dict) -> None:
    """Priors on the split noise are for tables with repeated evaluations only: say so, not ignore them."""
    given = [name for name in SPLIT if name in priors]
    if given:
        raise ValueError(f"priors on {given} apply where runs were evaluated more than once (an 'evaluation' column); "
                         "this table has one evaluation per run, whose noise is 'sigma'")


class Noise(NamedTuple):
    per_run: object  # the noise of each run's mean of evaluations
    whitening: object  # one scale for laws/whitened_curve.py: a run's noise at the mean number of evaluations


def noise_variables(priors: dict, defaults: dict, runs: pd.DataFrame) -> Noise:
    """``sigma_run`` and ``sigma_eval`` in the current model, the within-run potential, and the noise
    of each run's mean (see the module docstring). ``defaults``: the law's ``DefaultPrior``s."""
    if "sigma" in priors:
        raise ValueError("this table has repeated evaluations of its runs, so the noise is split in two: "
                         "set priors on 'sigma_run' (run to run) and 'sigma_eval' (one evaluation) instead of 'sigma'")
    chosen = {name: priors.get(name, defaults[name].prior) for name in SPLIT}
    sigma_run = chosen["sigma_run"].create_variable("sigma_run")
    sigma_eval = chosen["sigma_eval"].create_variable("sigma_eval")
    evaluations = pm.Data(EVALUATIONS, runs[EVALUATIONS].to_numpy(dtype=float))
    spread = pm.Data(SPREAD, runs[SPREAD].to_numpy(dtype=float))
    pm.Potential("evaluation_spread", pt.sum(-(evaluations - 1) * pt.log(sigma_eval) - spread / (2 * sigma_eval**2)))
    per_run_noise = pt.sqrt(sigma_run**2 + sigma_eval**2 / evaluations)
    whitening = pt.sqrt(sigma_run**2 + sigma_eval**2 / pt.mean(evaluations))
    return Noise(per_run_noise, whitening)


def one_evaluation_sigma(posterior) -> np.ndarray:
    """The noise of one evaluation of a new run: ``sigma``, or where it is split, the two together."""
    if "sigma" in posterior:
        return np.asarray(posterior["sigma"], dtype=float)
    return np.hypot(np.asarray(posterior["sigma_run"], dtype=float), np.asarray(posterior["sigma_eval"], dtype=float))


def per_run_sigma(posterior, table) -> np.ndarray:
    """The noise of each fitted row per draw, shape (chain, draw, row): ``sigma``, or with the split
    noise ``sqrt(sigma_run² + sigma_eval²/m)`` for a run's mean of ``m`` evaluations (``table``'s
    ``evaluations``: a DataFrame or a mapping of columns)."""
    if "sigma" in posterior:
        return np.asarray(posterior["sigma"], dtype=float)[..., None]
    m = np.asarray(table[EVALUATIONS], dtype=float)
    run, evaluation = (np.asarray(posterior[name], dtype=float)[..., None] for name in SPLIT)
    return np.sqrt(run**2 + evaluation**2 / m)


def run_loss(posterior, mean: np.ndarray, rng: np.random.Generator) -> dict:
    """With the split noise, a new run's own loss (``run_loss``: ``sigma_run`` only) and its mean;
    nothing otherwise. ``mean``: the mean curve's draws, shape (chain, draw, target)."""
    if "sigma_run" not in posterior:
        return {}
    sigma_run = np.asarray(posterior["sigma_run"], dtype=float)[..., None]
    return {"run_loss": mean * np.exp(sigma_run * rng.standard_normal(mean.shape)), "mean_run_loss": mean}


def refuse_repeated_evaluations(runs: pd.DataFrame, law: str) -> None:
    """For the laws that model one evaluation per row: a table with repeated evaluations is refused by name."""
    if has_repeated_evaluations(runs) or (EVALUATIONS in runs.columns and (runs[EVALUATIONS] > 1).any()):
        raise DataError(
            f"the {law!r} law fits one evaluation per run, and this table has runs evaluated more than once "
            "(its 'evaluation' column); fit it with law='loss', which separates evaluation noise from run-to-run noise, "
            "or average each run's evaluations first"
        )
