"""The GPT-4 capability law ``−log pass_rate_i(C) = α_i·C^(−k_g)``, per problem, as a PyMC model.

Why per problem and binomial: GPT-4's method averaged ``−log(correct/n)`` over a bucket
of problems and so had to drop every problem some model never solved (log 0 = −∞). Here
each problem i in run j contributes ``correct_ij ~ Binomial(n_ij, p_ij)`` with
``p_ij = exp(−α_i·(C_j/C_ref)^(−k_g))``: a problem at 0 of 1,000 still says "p below
~0.3%", and the intervals carry that. A bucket-level model with problems pooled was
overconfident on synthetic data (../shared/SAMPLING-NOTES.md), so problems are modelled
individually and partially pooled:

- ``log α_i ~ N(log_alpha_bucket[g], log_alpha_spread[g])``, α_i being ``−log p_i`` at
  ``C_ref``, the geometric mean of the fitted compute (sampled at a per-problem pivot);
- ``log k_g ~ N(log_k_mean, log_k_spread)`` (centred): buckets share strength on how fast
  problems get easier;
- soft borders: buckets are cut from noisy scores, so a problem scored just below a border
  may belong with the problems above it, and one that improves at its neighbours' rate
  would drag its bucket's k (on synthetic data that made 22% of 90% intervals miss). With
  soft buckets such a problem follows the easier neighbour's, its own or the harder
  neighbour's k, with prior weights from ``border_probabilities``, the choice marginalised
  over its whole row of counts. ``soft_buckets="auto"`` uses them where the buckets
  separate the problems at all (``expected_misplaced``, the mean prior weight on a
  neighbour, at most ``SOFT_BUCKETS_UP_TO``); where scores of neighbouring buckets overlap
  the mixture cannot tell the buckets' exponents apart and the chains do not mix;
- ``problem_k=True`` (opt-in) gives each problem its own
  ``log k_i = log k_g + log_k_within·t_i`` (t_i Student-t, 4 degrees of freedom)
  (docs/pass-rate-law.md has what each choice measured);
- ``log λ_ij`` also gets ``run_shift_j``, one shift per training run shared by all its
  problems: whole models land above or below the trend (seeds, data order), and with
  thousands of samples per problem that, not binomial noise, is what limits a forecast.
  The shifts are sampled centred where the data show them and, where they do not, whitened by
  what the data measure of each (``_whitened_run_shifts``; ``run_shifts="auto"``, decided by
  ``run_dispersion``). With four runs or fewer they are
  measured before sampling instead (``run_shifts="measured"``, ``measured_run_shifts``): two
  shifts off the trend cannot teach a sampled scale without a funnel, so they are held at their
  estimates in the likelihood and ``run_noise`` is learned from them through their marginal
  likelihood, N(ŝ; 0, run_noise² + se²).

Outputs at each target, per bucket and over all kept problems: ``neg_log_pass_rate``
(GPT-4's ``−E_P[log pass_rate]``), ``pass_rate`` (mean pass@1) and ``pass@k``, averaged
over the bucket's problems. ``kind="predictive"`` is for one new run (with its own shift
off the trend, and on each problem its own cell noise around that); ``kind="mean"`` for the
trend itself.

Where each part lives: ``priors`` (parameters, supports, default priors and why), ``preparing``
(buckets and the model's settings, before sampling), ``dispersion`` (run and cell noise measured
from the counts), ``pivots`` (where each level and exponent is sampled, and from where the chains
start), ``never_solved`` (the bound of problems no run solved), ``soft_buckets``, ``count_likelihood``
(the beta-binomial op, with ``vector_log``), ``model`` (the PyMC graph), ``prediction`` (from
draws to pass rates at the targets), ``problems`` (the model's problem order and index codes).
This module holds what the report and the command line read, and the law's ``LAW``.
"""

from __future__ import annotations

import pandas as pd

from bayes_scaling.laws.law import CliOption, Law
from bayes_scaling.laws.pass_rate.model import build_model
from bayes_scaling.laws.pass_rate.never_solved import complete_posterior
from bayes_scaling.laws.pass_rate.prediction import describe_buckets, predict, run_performance
from bayes_scaling.laws.pass_rate.preparing import SOFT_BUCKETS_UP_TO, prepare, structure
from bayes_scaling.laws.pass_rate.priors import DEFAULT_PRIORS, PARAMETERS, SUPPORT
from bayes_scaling.tables import load_pass_counts

ALL = "all"


def load(data) -> pd.DataFrame:
    return load_pass_counts(data)


def quantities(options: dict) -> list[str]:
    """Output names; the first is what ``interval`` and ``prob_above`` answer by default."""
    return ["pass_rate", "neg_log_pass_rate"] + [f"pass@{k}" for k in options["pass_at"] if k != 1]


def bucket_labels(options: dict) -> list[str]:
    return [str(g + 1) for g in range(options["buckets"])] + [ALL]


def caveats(options: dict) -> list[str]:
    """The report's caveats: how sure the buckets are, and how well intervals of this model setting held
    up in the measurements of docs/pass-rate-law.md."""
    misplaced = options.get("expected_misplaced")  # None: a forecast saved before soft borders existed
    soft = bool(options.get("soft_buckets"))
    overlap = misplaced is not None and misplaced > SOFT_BUCKETS_UP_TO
    if options.get("problem_k"):
        measured = ("one exponent per problem (hard buckets): 90% of per-bucket 90% intervals held the truth on synthetic "
                    "ladders, but 11 of 21 on Pythia's GSM8K counts, with divergences" + ("; not measured with soft borders" if soft else ""))
    elif soft:
        measured = "soft bucket borders: 92% of per-bucket 90% intervals held the truth on 30 synthetic ladders"
    elif overlap:
        measured = ("hard buckets where scores overlap, as on Pythia's GSM8K counts: 13 of 21 intervals held the measured "
                    "pass rate (those rates stop rising with size, which no monotone law follows)")
    else:
        measured = ("hard buckets: 78% of per-bucket 90% intervals held the truth on 30 synthetic ladders "
                    "(soft borders, where the buckets separate the problems: 92%)")
    out = [f"Calibration of this setting, 100× beyond the fit (docs/pass-rate-law.md): {measured}."]
    if misplaced is None:
        return out
    share = f"Buckets come from noisy scores (expected share of problems in a neighbouring bucket: {misplaced:.0%}); "
    if soft:
        out.append(share + "a problem near a border may follow its neighbour's exponent, as its counts decide.")
    else:
        out.append(
            share + "every problem follows its own bucket's exponent, as in GPT-4's method"
            + (", because the buckets' scores overlap too much to tell their exponents apart." if overlap else ".")
        )
    return out


def settings_lines(options: dict) -> list[str]:
    """What the command line says of the fit: which bucket borders, and why."""
    if "expected_misplaced" not in options:  # a forecast saved before soft borders existed
        return []
    kind = "soft (a problem near a border may follow its neighbour's k)" if options["soft_buckets"] else "hard"
    return [f"bucket borders: {kind}; expected share of problems in a neighbouring bucket {options['expected_misplaced']:.0%}"]


LAW = Law(
    name="pass_rate",
    observed="correct",
    formula="−log pass_rate_i(C) = α_i·C^(−k_g), per problem",
    assumption="that every problem gets easier as a power of compute",
    rising=True,
    parameters=PARAMETERS,
    derived=("k", "k_problem"),
    diagnosed=PARAMETERS + ("alpha", "k", "k_problem"),  # every problem's α and k must converge too
    prior_names=PARAMETERS,
    support=SUPPORT,
    default_priors=DEFAULT_PRIORS,
    per_problem_variables=("alpha", "k_problem", "membership"),  # one per problem: Forecast.parameters() leaves them out
    # 0.9 would halve the adapted trees on the example counts (31 -> 15 leapfrog steps per draw), but
    # left one divergent transition on Pythia's GSM8K finals <= 410M, in the upper tail of the hardest
    # bucket's level and spread; 0.8 did the same (docs/pass-rate-law.md, "Sampler settings").
    target_accept=0.95,
    dense_mass=False,  # ~190 parameters, mostly independent problem levels
    # PyMC's ±1 start jitter sometimes started a chain with k ~10× too large, where gradients
    # are so steep that step-size adaptation collapsed (step 1e-308, 1,000 divergences).
    jitter=0.5,
    # No pointwise log-likelihood for LOO: one value per (run, problem) count is thousands per draw.
    log_likelihood=False,
    load=load,
    prepare=prepare,
    build_model=build_model,
    predict=predict,
    quantities=quantities,
    structure=structure,
    complete_posterior=complete_posterior,
    bucket_labels=bucket_labels,
    describe_buckets=describe_buckets,
    run_performance=run_performance,
    caveats=caveats,
    settings_lines=settings_lines,
    cli_options=(
        CliOption("buckets", "difficulty buckets (default 6)", type=int),
        CliOption("exclude_hardest", "hardest problems left out (default 15)", type=int),
        CliOption("pass_at", "also forecast pass@k (repeatable; default 10)", type=int, repeatable=True),
    ),
)
