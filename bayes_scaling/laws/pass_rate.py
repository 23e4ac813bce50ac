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
  The shifts are sampled centred where the data show them and non-centred where they do not
  (``run_shifts="auto"``, decided by ``run_dispersion``).

Outputs at each target, per bucket and over all kept problems: ``neg_log_pass_rate``
(GPT-4's ``−E_P[log pass_rate]``), ``pass_rate`` (mean pass@1) and ``pass@k``, averaged
over the bucket's problems. ``kind="predictive"`` is for one new run (with its own shift
off the trend); ``kind="mean"`` for the trend itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior

from bayes_scaling.buckets import assign_buckets, border_probabilities
from bayes_scaling.data import load_pass_counts

NAME = "pass_rate"
RUN_SHIFTS = ("auto", "centred", "non_centred")
# run_dispersion() above this: the runs visibly sit off their problems' trends, and the shifts
# are sampled centred. Measured: synthetic data without run noise 0.95-2.7 (8 seeds); Pythia on
# GSM8K 33 (final checkpoints <= 1.4B), 52 (all final), 627 (training checkpoints).
CENTRED_SHIFTS_ABOVE = 10.0
OBSERVED = "correct"
PARAMETERS = ("log_alpha_bucket", "log_alpha_spread", "log_k_mean", "log_k_spread", "log_k_within", "run_noise")
DERIVED = ("k", "k_problem")
DIAGNOSED = PARAMETERS + ("alpha", "k", "k_problem")  # every problem's α and k must converge too
PER_PROBLEM = ("alpha", "k_problem", "membership")  # one per problem: Forecast.parameters() leaves them out
FORMULA = "−log pass_rate_i(C) = α_i·C^(−k_g), per problem"
ASSUMPTION = "that every problem gets easier as a power of compute"
PRIOR_NAMES = PARAMETERS
BUCKET_PRIORS = ("log_alpha_bucket", "log_alpha_spread")
TARGET_ACCEPT = 0.95
DENSE_MASS = False  # ~190 parameters, mostly independent problem levels
# No pointwise log-likelihood for LOO: one value per (run, problem) count is thousands per draw.
LOG_LIKELIHOOD = False
# PyMC's ±1 start jitter sometimes started a chain with k ~10× too large, where gradients
# are so steep that step-size adaptation collapsed (step 1e-308, 1,000 divergences).
JITTER = 0.5
ALL = "all"
# soft buckets: a neighbour's prior weight below this and the problem follows its own bucket's k
NEIGHBOUR_WEIGHT_MIN = 1e-6
# soft_buckets="auto": soft where the expected share of problems that belong in a neighbouring
# bucket is at most this. Measured: synthetic recovery data 0.04-0.07 (30 seeds); Pythia on
# GSM8K 0.36 (final checkpoints <= 1.4B) and 0.21 (training checkpoints), where the scores of
# neighbouring buckets overlap, a problem's bucket says little, and the mixture did not mix
# (bucket exponents swapped between chains: r_hat 1.73).
SOFT_BUCKETS_UP_TO = 0.15
NEIGHBOURS = ("easier", "own", "harder")  # soft buckets: whose k a problem may follow

SUPPORT = {
    "log_alpha_bucket": (-np.inf, np.inf),
    "log_alpha_spread": (0.0, np.inf),
    "log_k_mean": (-np.inf, np.inf),
    "log_k_spread": (0.0, np.inf),
    "log_k_within": (0.0, np.inf),
    "run_noise": (0.0, np.inf),
}

PRIOR_REASONS = {
    "log_alpha_bucket": (
        'Prior("Normal", mu=0, sigma=2.5, dims="bucket")',
        "The typical log(−log pass rate) of a bucket's problems at C_ref. 0 means a pass rate of "
        "e^-1 = 37%; ±5 (95%) spans pass rates from ~100% to e^-150, so any bucket fits.",
    ),
    "log_alpha_spread": (
        'Prior("HalfNormal", sigma=1.5, dims="bucket")',
        "How much problems in one bucket differ (sd of log α): buckets are built to hold "
        "problems of similar difficulty, so a spread of a few units of log α is ample.",
    ),
    "log_k_mean": (
        'Prior("Normal", mu=log(0.3), sigma=1)',
        "The typical exponent k: with k = 0.3, 10× compute halves −log pass rate. 95% of the "
        "prior lies in k = 0.04-2.1, wider than published capability trends.",
    ),
    "log_k_spread": (
        'Prior("HalfNormal", sigma=0.5)',
        "How much k differs between buckets (sd of log k): buckets of one benchmark and one "
        "recipe should improve at related rates, so differences of a factor e^±1 are allowed.",
    ),
    "log_k_within": (
        'Prior("HalfNormal", sigma=0.3)',
        "How much k differs between problems of one bucket (sd of log k): buckets group "
        "problems by how small models did, which says little about how fast each improves; "
        "0.3 lets single problems improve ~35% faster or slower than their bucket.",
    ),
    "run_noise": (
        'Prior("HalfNormal", sigma=0.5)',
        "How far one training run sits off the trend, as a shift of log(−log pass rate) shared by "
        "all its problems (seeds, data order and checkpoints make whole models better or worse "
        "than the law). Without it, thousands of samples per problem make the intervals far too "
        "narrow on real ladders (Pythia GSM8K: 2 of 21 covered).",
    ),
}


def default_priors() -> dict[str, Prior]:
    return {
        "log_alpha_bucket": Prior("Normal", mu=0.0, sigma=2.5, dims="bucket"),
        "log_alpha_spread": Prior("HalfNormal", sigma=1.5, dims="bucket"),
        "log_k_mean": Prior("Normal", mu=np.log(0.3), sigma=1.0),
        "log_k_spread": Prior("HalfNormal", sigma=0.5),
        "log_k_within": Prior("HalfNormal", sigma=0.3),
        "run_noise": Prior("HalfNormal", sigma=0.5),
    }


def load(data) -> pd.DataFrame:
    return load_pass_counts(data)


def quantities(options: dict) -> list[str]:
    """Output names; the first is what ``interval`` and ``prob_above`` answer by default."""
    return ["pass_rate", "neg_log_pass_rate"] + [f"pass@{k}" for k in options["pass_at"] if k != 1]


def prepare(counts: pd.DataFrame, buckets: int = 6, exclude_hardest: int = 15, pass_at=(10,), problem_k: bool = False,
            run_shifts: str = "auto", soft_buckets="auto"):
    """Assign buckets from the fitting data and keep the problems the law is fitted on.

    ``soft_buckets=True`` lets a problem near a border follow its neighbouring bucket's k,
    with the prior probability ``border_probabilities`` gives (see the module); ``"auto"``
    does so where the buckets separate the problems (``expected_misplaced`` at most
    ``SOFT_BUCKETS_UP_TO``).
    ``problem_k=True`` gives every problem its own k around its bucket's.
    ``run_shifts``: how the runs' shifts off the trend are sampled; ``"auto"`` picks
    ``"centred"`` when the data show them (``run_dispersion``), else ``"non_centred"``.

    Returns the fitted table, per-problem data to keep with the forecast, and settings.
    """
    ks = sorted({int(k) for k in np.atleast_1d(pass_at)})
    if not ks or ks[0] < 1:
        raise ValueError(f"pass_at must be positive integers, got {pass_at!r}")
    if soft_buckets not in (True, False, "auto"):
        raise ValueError(f"soft_buckets must be True, False or 'auto', got {soft_buckets!r}")
    if run_shifts not in RUN_SHIFTS:
        raise ValueError(f"run_shifts must be one of {list(RUN_SHIFTS)}, got {run_shifts!r}")
    assignment = assign_buckets(counts, buckets=buckets, exclude_hardest=exclude_hardest)
    kept = assignment.loc[~assignment["excluded"]].sort_values("problem").reset_index(drop=True)
    table = counts[counts["problem"].isin(kept["problem"])].reset_index(drop=True)
    run_compute = table.groupby("run", sort=False)["compute"].first()
    options = {
        "compute_ref": float(np.exp(np.log(run_compute.to_numpy()).mean())),
        "buckets": int(buckets),
        "exclude_hardest": int(exclude_hardest),
        "pass_at": ks,
        "problem_k": bool(problem_k),
    }
    per_problem = {
        "problem_name": assignment["problem"].astype(str).to_numpy(),
        "difficulty_score": assignment["score"].to_numpy(dtype=float),
        "bucket": assignment["bucket"].fillna(0).astype(int).to_numpy(),  # 0: excluded
    }
    # each fitted problem's pivot (see build_model), kept so that forecasts can use it too
    problem_code, run_code, run_x, _, problems = _index(table, per_problem)
    pivot_x, _ = _information_pivots(table, problem_code, run_code, np.log(run_x / options["compute_ref"]), len(problems))
    pivot_compute = pd.Series(options["compute_ref"] * np.exp(pivot_x), index=problems)
    per_problem["pivot_compute"] = pivot_compute.reindex(per_problem["problem_name"]).to_numpy()  # NaN: excluded
    borders = border_probabilities(counts, assignment)
    per_problem["prior_easier"] = borders["p_easier"].to_numpy()
    per_problem["prior_harder"] = borders["p_harder"].to_numpy()
    misplaced = float((borders["p_easier"] + borders["p_harder"])[~assignment["excluded"].to_numpy()].mean())
    options["expected_misplaced"] = misplaced
    options["soft_buckets"] = misplaced <= SOFT_BUCKETS_UP_TO if soft_buckets == "auto" else soft_buckets
    if run_shifts == "auto":
        dispersion = run_dispersion(table, per_problem, options["compute_ref"])
        options["run_dispersion"] = dispersion
        run_shifts = "centred" if dispersion > CENTRED_SHIFTS_ABOVE else "non_centred"
    options["run_shifts"] = run_shifts
    return table, per_problem, options


def structure(options: dict) -> tuple:
    """What changes the model's graph besides the priors: a compiled sampler is reused only within it."""
    return (options.get("run_shifts", "non_centred"), options.get("problem_k", False), options.get("soft_buckets", False))


def run_dispersion(table: pd.DataFrame, per_problem: dict, compute_ref: float) -> float:
    """How far whole runs sit off their problems' trends, in units of binomial noise (~1 if not at all).

    Per problem, a weighted line of log λ̂ = log(−log p̂) against log compute (the law is that
    line); per run, the weighted mean residual over its problems, squared over its variance,
    averaged over runs (with the two degrees of freedom of each line given back). Only cells
    with 0 < correct < n count: at 0 or n the smoothed λ̂ says more about the smoothing.
    """
    problem_code, run_code, run_compute, _, problems = _index(table, per_problem)
    x = np.log(run_compute / compute_ref)[run_code]
    y, weight = _smoothed_log_lambda(table)
    correct = table["correct"].to_numpy()
    weight = np.where((correct > 0) & (correct < table["n"].to_numpy()), weight, 0.0)
    sums = {name: np.bincount(problem_code, weights=weight * v, minlength=len(problems))
            for name, v in (("w", 1.0), ("x", x), ("y", y), ("xx", x * x), ("xy", x * y))}
    det = sums["w"] * sums["xx"] - sums["x"] ** 2
    has_line = det > 1e-9 * np.maximum(sums["w"], 1.0) ** 2  # two or more informative runs
    slope = np.divide(sums["w"] * sums["xy"] - sums["x"] * sums["y"], det, out=np.zeros_like(det), where=has_line)
    intercept = np.divide(sums["y"] - slope * sums["x"], sums["w"], out=np.zeros_like(det), where=has_line)
    residual = y - intercept[problem_code] - slope[problem_code] * x
    weight = np.where(has_line[problem_code], weight, 0.0)
    runs = len(run_compute)
    run_weight = np.bincount(run_code, weights=weight, minlength=runs)
    seen = run_weight > 0
    if seen.sum() < 3:
        return 0.0  # too few informative runs to see a shift
    shift = np.bincount(run_code, weights=weight * residual, minlength=runs)[seen] / run_weight[seen]
    return float(np.mean(shift**2 * run_weight[seen]) * seen.sum() / (seen.sum() - 2))


def _kept_buckets(per_problem) -> pd.Series:
    """Bucket (1-based) of each fitted problem, in the model's problem order (sorted ids)."""
    bucket = pd.Series(np.asarray(per_problem["bucket"]), index=np.asarray(per_problem["problem_name"]).astype(str))
    return bucket[bucket > 0].sort_index()


def _index(table: pd.DataFrame, per_problem: dict):
    """Integer codes: run of each row, problem of each row, bucket (0-based) of each kept problem."""
    kept = _kept_buckets(per_problem)
    problem_code = pd.Index(kept.index).get_indexer(table["problem"])
    runs = pd.Index(table["run"].unique())
    run_code = runs.get_indexer(table["run"])
    run_compute = table.groupby("run", sort=False)["compute"].first().reindex(runs).to_numpy(dtype=float)
    return problem_code, run_code, run_compute, kept.to_numpy() - 1, list(kept.index)


def build_model(table: pd.DataFrame, per_problem: dict, options: dict, priors: dict[str, Prior]) -> pm.Model:
    problem_code, run_code, run_compute, bucket_code, problems = _index(table, per_problem)
    coords = {
        "bucket": [str(g + 1) for g in range(options["buckets"])],
        "problem": problems,
        "run": [str(r) for r in table["run"].unique()],
    }
    chosen = {**default_priors(), **{name: _with_bucket_dims(name, p) for name, p in priors.items()}}
    with pm.Model(coords=coords) as model:
        x = pm.Data("log_compute_ratio", np.log(run_compute / options["compute_ref"]))
        run_of = pm.Data("run_code", run_code)
        problem_of = pm.Data("problem_code", problem_code)
        bucket_of = pm.Data("bucket_code", bucket_code)
        n = pm.Data("n", table["n"].to_numpy())
        correct = pm.Data("correct_data", table["correct"].to_numpy())

        _, pivot_level = _information_pivots(
            table, problem_code, run_code, np.log(run_compute / options["compute_ref"]), len(problems)
        )
        pivot = pm.Data("problem_pivot", _pivot_log_compute(per_problem, options))
        # the chains start from each problem's observed level, not from the prior's centre
        level_estimate = pm.Data("problem_level_estimate", pivot_level)
        log_k_mean = chosen["log_k_mean"].create_variable("log_k_mean")
        log_k_spread = chosen["log_k_spread"].create_variable("log_k_spread")
        # Centred: every bucket's k is pinned by thousands of samples, and a non-centred k
        # ties the six offsets to the mean and spread along a thin ridge (step size 0.02).
        log_k = pm.Normal("log_k", log_k_mean, log_k_spread, dims="bucket")
        k = pm.Deterministic("k", pt.exp(log_k), dims="bucket")
        # problem_k=True: problems of one bucket need not share k exactly (buckets come from
        # noisy scores, and a problem near a border may improve like its neighbours in the next
        # bucket); each k scatters around its bucket's, non-centred (most problems say little).
        if options.get("problem_k", False):
            log_k_within = chosen["log_k_within"].create_variable("log_k_within")
            # Student-t: a few problems from a neighbouring bucket may differ by 3× in k; a
            # normal scatter shrank them back to their bucket (79% vs 85% recovery, 11 seeds).
            k_scatter = pm.StudentT("k_scatter", nu=4, mu=0.0, sigma=1.0, dims="problem")
            within = log_k_within * k_scatter
            k_of_problem = pm.Deterministic("k_problem", pt.exp(log_k[bucket_of] + within), dims="problem")
        elif "log_k_within" in priors:
            raise ValueError("a prior on 'log_k_within' needs problem_k=True (one k per problem)")
        else:
            within = pt.zeros(len(problems))
            k_of_problem = k[bucket_of]

        log_alpha_bucket = chosen["log_alpha_bucket"].create_variable("log_alpha_bucket")
        log_alpha_spread = chosen["log_alpha_spread"].create_variable("log_alpha_spread")
        # Each problem is sampled at its own pivot, the compute where its counts say the most
        # (an easy problem early, a hard one late): there its level barely depends on k, so
        # the sampler does not see 150 levels all correlated with k. log α at C_ref follows by
        # a shear (unit Jacobian), so the prior on it is exactly N(bucket mean, bucket spread).
        log_alpha_at_pivot = pm.Normal(
            "log_alpha_at_pivot",
            mu=log_alpha_bucket[bucket_of] - k_of_problem * pivot,
            sigma=log_alpha_spread[bucket_of],
            dims="problem",
            initval=level_estimate,
        )
        log_alpha = log_alpha_at_pivot + k_of_problem * pivot
        pm.Deterministic("alpha", pt.exp(log_alpha), dims="problem")
        run_noise = chosen["run_noise"].create_variable("run_noise")
        # Only what a constant and a trend in log compute cannot explain is a shift: the rest
        # is the bucket levels' and k's job (leaving it in made the chains crawl, r_hat 1.04).
        # So the shifts live in the off-trend subspace, on an orthonormal basis of it: shifts
        # projected there from one per run left two directions held by the prior alone, a
        # funnel in run_noise. Centred or not is the data's call (prepare): where runs have no
        # noise run_noise goes to ~0 and centred shifts diverged (synthetic data: 74 divergences
        # centred, 0 non-centred); where runs do shift, as on Pythia, non-centred left 5-6
        # divergences and centred none (seeds 0 and 1).
        basis = _off_trend_basis(np.log(run_compute / options["compute_ref"]))
        if basis.shape[1]:
            if options.get("run_shifts") == "centred":
                free_shift = pm.Normal("run_shift_free", 0.0, run_noise, shape=basis.shape[1])
            else:
                free_shift = run_noise * pm.Normal("run_shift_free", 0.0, 1.0, shape=basis.shape[1])
            run_shift = pm.Deterministic("run_shift", pt.dot(pm.Data("run_basis", basis), free_shift), dims="run")
        else:  # two runs or fewer: a trend explains any shift
            run_shift = pt.zeros(basis.shape[0])

        # −log p = α·exp(−k·x); logit p = −λ − log(1 − e^−λ), stable for tiny and huge λ.
        log_lam = (
            log_alpha_at_pivot[problem_of]
            - k_of_problem[problem_of] * (x[run_of] - pivot[problem_of])
            + run_shift[run_of]
        )
        if options.get("soft_buckets", False):
            soft = _SoftBuckets(per_problem, options["buckets"], problem_code, run_code, bucket_code)
            soft.add_likelihood(log_lam, log_k, within, log_alpha_at_pivot, pivot, x, run_shift, n, correct)
            return model
        lam = pt.exp(log_lam)
        pm.Binomial("correct", n=n, logit_p=-lam - pt.log1mexp(-lam), observed=correct)
    return model


def _neighbours(bucket_code: np.ndarray, buckets: int) -> np.ndarray:
    """(problem, 3): the 0-based buckets whose k a problem may follow: easier, own, harder
    (clipped at the ends, where the prior gives the missing neighbour no weight)."""
    return np.clip(bucket_code[:, None] + np.array([-1, 0, 1]), 0, buckets - 1)


def _membership_prior(per_problem) -> np.ndarray:
    """(kept problem, 3), model order: prior probability of following the easier neighbour's,
    its own and the harder neighbour's k (``border_probabilities``)."""
    kept = _kept_buckets(per_problem).index
    prior = pd.DataFrame(
        {name: np.asarray(per_problem[name], dtype=float) for name in ("prior_easier", "prior_harder")},
        index=np.asarray(per_problem["problem_name"]).astype(str),
    ).loc[kept]
    easier, harder = prior["prior_easier"].to_numpy(), prior["prior_harder"].to_numpy()
    return np.column_stack([easier, np.maximum(1 - easier - harder, 0.0), harder])


def _ambiguous(weights: np.ndarray) -> np.ndarray:
    """Kept problems (model positions) whose score lies near enough a border that a neighbour's
    k gets prior weight; the others follow their own bucket's k (a weight below
    ``NEIGHBOUR_WEIGHT_MIN`` is a score ~4.8 standard errors from the border)."""
    return np.flatnonzero((weights[:, 0] > NEIGHBOUR_WEIGHT_MIN) | (weights[:, 2] > NEIGHBOUR_WEIGHT_MIN))


class _SoftBuckets:
    """The binomial likelihood where a problem near a border may follow a neighbour's k.

    For each such ("ambiguous") problem the choice among {easier neighbour's, own bucket's,
    harder neighbour's} k is marginalised over its whole row of counts (one choice per
    problem, not per count), weighted by ``border_probabilities``; every other problem
    keeps its bucket's k, as with hard buckets. The posterior choice probabilities are kept
    as ``membership`` (ambiguous problem, neighbour) for the forecast to draw from. A
    problem's level at its pivot keeps its own bucket's prior whichever k it follows, and the
    ``alpha`` in the posterior is its α under its own bucket's k (``_problem_laws`` moves it
    to the k followed). Index arrays are ``pm.Data``: a compiled sampler reused for data of
    the same shape must not keep another data set's.
    """

    def __init__(self, per_problem, buckets: int, problem_code, run_code, bucket_code):
        weights = _membership_prior(per_problem)
        self.ambiguous = _ambiguous(weights)
        rows = np.flatnonzero(np.isin(problem_code, self.ambiguous))
        self.rows, self.row_problem, self.row_run = rows, problem_code[rows], run_code[rows]
        self.compact = np.searchsorted(self.ambiguous, problem_code[rows])  # row -> position among ambiguous
        self.alternatives = _neighbours(bucket_code, buckets)[self.ambiguous][:, [0, 2]]
        # a weight of exactly 0 (no neighbour) must stay finite for the gradients: e^-690 is 0 in effect
        self.log_weight = np.log(np.maximum(weights[self.ambiguous], 1e-300))
        self.names = list(_kept_buckets(per_problem).index[self.ambiguous])

    def add_likelihood(self, log_lam, log_k, within, log_alpha_at_pivot, pivot, x, run_shift, n, correct):
        cell_own = _binomial_log_likelihood(log_lam, n, correct)
        if not self.ambiguous.size:
            pm.Potential("soft_bucket_likelihood", cell_own.sum())
            return
        model = pm.modelcontext(None)
        model.add_coord("ambiguous_problem", self.names)
        model.add_coord("neighbour", list(NEIGHBOURS))
        rows, problem, run, compact = (
            pm.Data(f"soft_{name}", values)
            for name, values in (("rows", self.rows), ("row_problem", self.row_problem), ("row_run", self.row_run), ("compact", self.compact))
        )
        ambiguous = pm.Data("soft_ambiguous", self.ambiguous)
        k_alternative = pt.exp(log_k[pm.Data("soft_alternatives", self.alternatives)] + within[ambiguous][:, None])
        log_lam_alternative = (
            log_alpha_at_pivot[problem][:, None]
            - k_alternative[compact] * (x[run] - pivot[problem])[:, None]
            + run_shift[run][:, None]
        )
        cell_alternative = _binomial_log_likelihood(log_lam_alternative, n[rows][:, None], correct[rows][:, None])
        size = self.ambiguous.size
        own = pt.inc_subtensor(pt.zeros(size)[compact], cell_own[rows])
        other = pt.inc_subtensor(pt.zeros((size, 2))[compact], cell_alternative)
        joint = pt.stack([other[:, 0], own, other[:, 1]], axis=1) + pm.Data("soft_log_prior", self.log_weight)
        total = pt.logsumexp(joint, axis=1, keepdims=True)
        pm.Potential("soft_bucket_likelihood", cell_own.sum() - own.sum() + total.sum())
        pm.Deterministic("membership", pt.exp(joint - total), dims=("ambiguous_problem", "neighbour"))


def _binomial_log_likelihood(log_lam, n, correct):
    """c·log p + (n − c)·log(1 − p) with p = e^−λ, per count, without the binomial constant."""
    lam = pt.exp(log_lam)
    return -correct * lam + (n - correct) * pt.log1mexp(-lam)


def _off_trend_basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning the vectors over runs with no constant and no linear
    trend in ``x``: ``basis @ N(0, σ²I)`` is ``N(0, σ²·P)``, P the off-trend projection."""
    design = np.column_stack([np.ones_like(x), x])
    if np.linalg.matrix_rank(design) < 2:  # one compute for all runs: remove the mean only
        design = design[:, :1]
    left, _, _ = np.linalg.svd(design, full_matrices=True)
    return left[:, design.shape[1] :]


def _pivot_log_compute(per_problem, options) -> np.ndarray:
    """Each fitted problem's pivot as log(C / C_ref), in the model's problem order."""
    pivot = pd.Series(np.asarray(per_problem["pivot_compute"], dtype=float), index=np.asarray(per_problem["problem_name"]).astype(str))
    return np.log(pivot.loc[_kept_buckets(per_problem).index].to_numpy() / options["compute_ref"])


def _information_pivots(table, problem_code, run_code, x_run, problems: int) -> np.ndarray:
    """Per problem, the log-compute where its counts carry most information about log λ,
    and the observed log λ there.

    Fisher information of one sample about log λ is λ²·p/(1 − p) for p = e^(−λ); with
    smoothed rates p̂ = (c + ½)/(n + 1) each run gets weight n·λ̂²·p̂/(1 − p̂); the pivot is
    the weighted mean of the runs' log compute, the level the weighted mean of log λ̂.
    """
    log_lam, weight = _smoothed_log_lambda(table)
    total = np.bincount(problem_code, weights=weight, minlength=problems)
    moment = np.bincount(problem_code, weights=weight * x_run[run_code], minlength=problems)
    level = np.bincount(problem_code, weights=weight * log_lam, minlength=problems)
    return moment / total, level / total


def _smoothed_log_lambda(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, log λ̂ from the smoothed rate p̂ = (c + ½)/(n + 1), and its Fisher weight n·λ̂²·p̂/(1 − p̂)."""
    n = table["n"].to_numpy(dtype=float)
    p = (table["correct"].to_numpy(dtype=float) + 0.5) / (n + 1)
    lam = -np.log(p)
    return np.log(lam), n * lam**2 * p / (1 - p)


def _with_bucket_dims(name: str, prior: Prior) -> Prior:
    if name in BUCKET_PRIORS and not prior.dims:
        prior = prior.deepcopy()
        prior.dims = ("bucket",)
    return prior


def predict(posterior, constant, options: dict, compute: np.ndarray, rng=None, max_draws: int | None = None):
    """Per-bucket and overall outputs at each ``compute``: name -> array (chain, draw, target, bucket).

    ``constant`` holds the per-problem ``bucket`` codes saved with the forecast. Arrays keep
    the (chain, draw) axes of ``posterior``; ``max_draws`` thins them for plotting.
    """
    order = _kept_buckets(constant).to_numpy() - 1
    rng = np.random.default_rng(0) if rng is None else rng
    alpha, k = _problem_laws(posterior, constant, options, rng)  # (chain, draw, problem)
    if max_draws is not None:
        flat_alpha, flat_k = alpha.reshape(-1, alpha.shape[-1]), k.reshape(-1, k.shape[-1])
        step = max(1, flat_alpha.shape[0] // max_draws)
        alpha, k = flat_alpha[None, ::step], flat_k[None, ::step]
    x = np.log(np.asarray(compute, dtype=float) / options["compute_ref"])
    noise = np.asarray(posterior["run_noise"])
    if max_draws is not None:
        noise = noise.reshape(-1)[None, ::step]
    mean_lam = alpha[..., None, :] * np.exp(-k[..., None, :] * x[:, None])  # (c, d, target, problem)
    # one new run: its own shift off the trend, shared by its problems
    shift = np.exp(noise[..., None, None] * rng.standard_normal(noise.shape + (x.size, 1)))
    groups = [order == g for g in range(options["buckets"])] + [np.ones_like(order, dtype=bool)]
    out = {}
    for prefix, lam in (("", mean_lam * shift), ("mean_", mean_lam)):
        for name, values in _per_problem(lam, options["pass_at"]).items():
            out[prefix + name] = np.stack([values[..., g].mean(axis=-1) for g in groups], axis=-1)
    return out


def run_performance(posterior, constant, runs: pd.DataFrame, options: dict, rng=None):
    """Each fitted run's mean pass rate per bucket and over all kept problems, as fitted.

    Returns (compute per run, {"pass_rate": draws of shape (chain, draw, run, bucket)}),
    runs in the model's order. A run's pass rates include its own shift off the trend
    (``run_shift``), so they follow what the run measured, not the monotone law; used by
    the trend-reversal check (``bayes_scaling/trend_reversal.py``).
    """
    order = _kept_buckets(constant).to_numpy() - 1
    names = pd.Index(runs["run"].unique())
    compute = runs.groupby("run", sort=False)["compute"].first().reindex(names).to_numpy(dtype=float)
    x = np.log(compute / options["compute_ref"])
    rng = np.random.default_rng(0) if rng is None else rng
    alpha, k = _problem_laws(posterior, constant, options, rng)
    shift = np.asarray(posterior["run_shift"])
    lam = alpha[..., None, :] * np.exp(-k[..., None, :] * x[:, None] + shift[..., None])  # (c, d, run, problem)
    rate = np.exp(-lam)
    groups = [order == g for g in range(options["buckets"])] + [np.ones_like(order, dtype=bool)]
    return compute, {"pass_rate": np.stack([rate[..., g].mean(axis=-1) for g in groups], axis=-1)}


def _problem_laws(posterior, constant, options, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each kept problem's α (at C_ref) and k per draw, (chain, draw, problem) each.

    k is the problem's own with ``problem_k=True``, else its bucket's. With soft buckets, per
    draw the bucket whose k a problem near a border follows is drawn from ``membership``;
    its level is pinned at its pivot, not at C_ref, so its α moves with the k it follows.
    """
    order = _kept_buckets(constant).to_numpy() - 1
    alpha = np.asarray(posterior["alpha"])
    k_bucket = np.asarray(posterior["k"])
    k = np.asarray(posterior["k_problem"]) if "k_problem" in posterior else k_bucket[..., order]
    if "membership" not in posterior:
        return alpha, k
    ambiguous = _ambiguous(_membership_prior(constant))
    membership = np.asarray(posterior["membership"])  # (chain, draw, ambiguous problem, neighbour)
    u = rng.random(membership.shape[:-1] + (1,))
    choice = (u > np.cumsum(membership, axis=-1)[..., :-1]).sum(axis=-1)  # 0 easier, 1 own, 2 harder
    chosen = _neighbours(order[ambiguous], k_bucket.shape[-1])[np.arange(ambiguous.size), choice]
    followed = k[..., ambiguous] * np.take_along_axis(k_bucket, chosen, axis=-1) / k_bucket[..., order[ambiguous]]
    # log λ = log α_pivot − k·(x − pivot) for whichever k: log α at C_ref = log α_pivot + k·pivot
    pivot = _pivot_log_compute(constant, options)[ambiguous]
    alpha, k = alpha.copy(), k.copy()
    alpha[..., ambiguous] *= np.exp((followed - k[..., ambiguous]) * pivot)
    k[..., ambiguous] = followed
    return alpha, k


def describe_buckets(frame: pd.DataFrame, posterior, constant) -> pd.DataFrame:
    """``fc.buckets`` with soft buckets: each problem's posterior probability of following its
    easier or harder neighbour's k (``posterior_easier``, ``posterior_harder``; 0 where the
    prior gave the neighbour no weight, NaN for problems left out)."""
    if "membership" not in posterior:
        return frame
    names = _kept_buckets(constant).index[_ambiguous(_membership_prior(constant))]
    mean = np.asarray(posterior["membership"]).mean(axis=(0, 1))  # (ambiguous problem, neighbour)
    frame = frame.copy()
    fitted = frame["bucket"].to_numpy() > 0
    for column, side in (("posterior_easier", 0), ("posterior_harder", 2)):
        values = pd.Series(mean[:, side], index=names)
        frame[column] = np.where(fitted, frame["problem"].astype(str).map(values).fillna(0.0), np.nan)
    return frame


def _per_problem(lam: np.ndarray, pass_at) -> dict[str, np.ndarray]:
    p = np.exp(-lam)
    values = {"pass_rate": p, "neg_log_pass_rate": lam}
    for k in pass_at:
        if k != 1:
            values[f"pass@{k}"] = -np.expm1(k * np.log1p(-np.minimum(p, 1 - 1e-16)))
    return values


def bucket_labels(options: dict) -> list[str]:
    return [str(g + 1) for g in range(options["buckets"])] + [ALL]
