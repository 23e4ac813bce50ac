"""The pass-rate law as a PyMC model (the package docstring gives the model and why).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc_extras.prior import Prior

from bayes_scaling.laws.law import Prepared
from bayes_scaling.laws.pass_rate.count_likelihood import count_log_likelihood
from bayes_scaling.laws.pass_rate.dispersion import measured_run_shifts, off_trend_basis
from bayes_scaling.laws.pass_rate.never_solved import add_never_solved_bound, walls
from bayes_scaling.laws.pass_rate.pivots import information_pivots, exponent_centring, level_centring, log_k_start
from bayes_scaling.laws.pass_rate.preparing import likelihood_form, sampled_cell_noise
from bayes_scaling.laws.pass_rate.priors import default_priors, with_bucket_dims
from bayes_scaling.laws.pass_rate.problems import codes, pivot_log_compute
from bayes_scaling.laws.pass_rate.soft_buckets import SoftBuckets

K_SCATTER_NU = 4  # problem_k=True: degrees of freedom of the Student-t scatter of log k within a bucket


def build_model(prepared: Prepared, priors: dict[str, Prior]) -> pm.Model:
    table, per_problem, options = prepared
    problem_code, run_code, run_compute, bucket_code, problems = codes(table, per_problem)
    never, wall_run, wall_level, wall_width = walls(per_problem)
    solved = np.flatnonzero(~never)  # kept problems some fitted run solved: sampled; the rest are bounded
    rows = np.flatnonzero(~never[problem_code])  # their counts: the binomial likelihood
    coords = {
        "bucket": [str(g + 1) for g in range(options["buckets"])],
        "problem": problems,
        "solved_problem": [problems[i] for i in solved],
        "run": [str(r) for r in table["run"].unique()],
    }
    with pm.Model(coords=coords) as model:
        x = pm.Data("log_compute_ratio", np.log(run_compute / options["compute_ref"]))
        run_of = pm.Data("run_code", run_code[rows])
        problem_of = pm.Data("problem_code", problem_code[rows])
        bucket_of = pm.Data("bucket_code", bucket_code)
        n = pm.Data("n", table["n"].to_numpy()[rows])
        correct = pm.Data("correct_data", table["correct"].to_numpy()[rows])

        _, pivot_level = information_pivots(
            table, problem_code, run_code, np.log(run_compute / options["compute_ref"]), len(problems)
        )
        pivot = pm.Data("problem_pivot", pivot_log_compute(per_problem, options))
        chosen = {**default_priors(), **{name: with_bucket_dims(name, p) for name, p in priors.items()}}
        log_k_mean = chosen["log_k_mean"].create_variable("log_k_mean")
        log_k_spread = chosen["log_k_spread"].create_variable("log_k_spread")
        # Partly centred, per bucket, like the levels below: a bucket whose solved problems pin
        # its k down is sampled centred (non-centred, six well-measured k were tied to their mean
        # and spread along a thin ridge: step size 0.02); a bucket whose counts say little about
        # its k (mostly never solved) non-centred (centred, it sat in the neck of a funnel with
        # log_k_spread: Pythia GSM8K, fit <= 410M, 2 divergences at 3 sd below the mean k).
        centring_k = exponent_centring(table, problem_code, bucket_code, per_problem, options)
        k_centring = pm.Data("k_centring", centring_k)
        # chains start near the data's exponents too: from the prior's k = 0.3, where Pythia's
        # are ~0.1, one chain of four started so steep that step-size adaptation collapsed
        # (training checkpoints <= 1.4B: step size 0, 1,000 divergences, r_hat 1.53)
        start_mean, start_spread, start_coordinate = log_k_start(table, per_problem, options, centring_k)
        model.set_initval(log_k_mean, pm.Data("log_k_mean_start", start_mean))
        model.set_initval(log_k_spread, pm.Data("log_k_spread_start", start_spread))
        log_k = pm.Deterministic("log_k", _partly_centred_normal(
            "log_k_coordinate", log_k_mean, log_k_spread, k_centring, pm.Data("log_k_coordinate_start", start_coordinate),
            dims="bucket",
        ), dims="bucket")
        k = pm.Deterministic("k", pt.exp(log_k), dims="bucket")
        # problem_k=True: problems of one bucket need not share k exactly (buckets come from
        # noisy scores, and a problem near a border may improve like its neighbours in the next
        # bucket); each k scatters around its bucket's, non-centred (most problems say little).
        if options.get("problem_k", False):
            log_k_within = chosen["log_k_within"].create_variable("log_k_within")
            # Student-t: a few problems from a neighbouring bucket may differ by 3× in k; a
            # normal scatter shrank them back to their bucket (79% vs 85% recovery, 11 seeds).
            # Sampled as a normal scale mixture, t = z/√w with w ~ Gamma(ν/2, ν/2) (the same
            # Student-t): sampled directly, the heavy tail of a problem whose counts say little
            # about its k was explored slowly (example counts, seed 0: tail ESS 121).
            scatter_scale = pm.Gamma("k_scatter_scale", alpha=K_SCATTER_NU / 2, beta=K_SCATTER_NU / 2, dims="problem")
            k_scatter = pm.Deterministic(
                "k_scatter", pm.Normal("k_scatter_normal", 0.0, 1.0, dims="problem") / pt.sqrt(scatter_scale), dims="problem"
            )
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
        # Partly centred, per problem (Gorinova et al. 2020): a problem whose counts pin its level
        # down is sampled centred, one they say little about non-centred, and the rest in
        # between, each by the share of its level's precision that comes from its data.
        level_mean = log_alpha_bucket[bucket_of] - k_of_problem * pivot
        spread = log_alpha_spread[bucket_of]
        sampled = pm.Data("solved_problems", solved)
        # Counts vary beyond the binomial: one model solves a problem more often than its trend says,
        # the next less (Pythia on GSM8K: 2.7-3.2× the binomial variance around each problem's line
        # over final checkpoints, 12× over training checkpoints; synthetic data 1×). With the bare
        # binomial, 10,000 samples pin each count so hard that counts off a monotone trend fought
        # each other and the sampler diverged; the beta-binomial lets the data say how much.
        cell_noise = pm.Data("cell_noise", sampled_cell_noise(options))
        pivot_x = pivot_log_compute(per_problem, options)
        centring = pm.Data("level_centring", level_centring(
            table, problem_code, len(problems), solved, bucket_code, pivot_x, pivot_level, options.get("cell_noise", 0.0)
        ))
        solved_level = _partly_centred_normal(
            "level_coordinate", level_mean[sampled], spread[sampled], centring,
            pm.Data("problem_level_estimate", pivot_level[solved]),  # chains start near the data
            dims="solved_problem",
        )
        # never-solved problems hold their prior mean here; complete_posterior draws their levels
        log_alpha_at_pivot = pm.Deterministic("log_alpha_at_pivot", pt.set_subtensor(level_mean[sampled], solved_level), dims="problem")
        log_alpha = log_alpha_at_pivot + k_of_problem * pivot
        pm.Deterministic("alpha", pt.exp(log_alpha), dims="problem")
        run_noise = chosen["run_noise"].create_variable("run_noise")
        # Only what a constant and a trend in log compute cannot explain is a shift: the rest
        # is the bucket levels' and k's job (leaving it in made the chains crawl, r_hat 1.04).
        # So the shifts live in the off-trend subspace, on an orthonormal basis of it: shifts
        # projected there from one per run left two directions held by the prior alone, a
        # funnel in run_noise. How they are sampled is the data's call (prepare): where runs have
        # no noise run_noise goes to ~0 and centred shifts diverged (synthetic data: 74
        # divergences centred, 0 non-centred; non-centred, 1 at 4 of 8 seeds: whitened, none);
        # where runs do shift, as on Pythia, non-centred left 5-6 divergences and centred none.
        basis = off_trend_basis(np.log(run_compute / options["compute_ref"]))
        if basis.shape[1] and options.get("run_shifts") == "measured":
            # few runs: the shifts are held at their estimates and run_noise learns from them in
            # closed form (see the module); sampled, 2 shifts and their scale made a funnel
            # (4 runs x 40 problems: 8-58 divergences, centred or not)
            basis, estimate, variance = measured_run_shifts(table, per_problem, options["compute_ref"], basis)
            estimate = pm.Data("run_shift_estimate", estimate)
            evidence = pm.Normal.logp(estimate, 0.0, pt.sqrt(run_noise**2 + pm.Data("run_shift_variance", variance)))
            pm.Potential("run_noise_evidence", evidence.sum())
            run_shift = pm.Deterministic("run_shift", pt.dot(pm.Data("run_basis", basis), estimate), dims="run")
        elif basis.shape[1]:
            if options.get("run_shifts") == "centred":
                free_shift = pm.Normal("run_shift_free", 0.0, run_noise, shape=basis.shape[1])
            elif options.get("run_shifts") == "whitened":
                # each shift as a deviation from where the data and run_noise put it, in units of
                # its conditional sd (see _whitened_run_shifts): no funnel at either end of run_noise
                basis, estimate, variance = measured_run_shifts(table, per_problem, options["compute_ref"], basis)
                free_shift = _whitened_run_shifts(run_noise, pm.Data("run_shift_estimate", estimate), pm.Data("run_shift_variance", variance))
            else:
                free_shift = run_noise * pm.Normal("run_shift_free", 0.0, 1.0, shape=basis.shape[1])
            run_shift = pm.Deterministic("run_shift", pt.dot(pm.Data("run_basis", basis), free_shift), dims="run")
        else:  # two runs or fewer: a trend explains any shift
            run_shift = pt.zeros(basis.shape[0])
        if never.any():
            add_never_solved_bound(never, wall_run, wall_level, wall_width, log_alpha_bucket, log_alpha_spread, bucket_of,
                                    k_of_problem, x, run_shift)

        # −log p = α·exp(−k·x)
        log_lam = (
            log_alpha_at_pivot[problem_of]
            - k_of_problem[problem_of] * (x[run_of] - pivot[problem_of])
            + run_shift[run_of]
        )
        form = likelihood_form(options)
        if options.get("soft_buckets", False):
            soft = SoftBuckets(per_problem, options["buckets"], problem_code[rows], run_code[rows], bucket_code, form)
            soft.add_likelihood(log_lam, log_k, within, log_alpha_at_pivot, pivot, x, run_shift, n, correct, cell_noise)
            return model
        pm.Potential("count_likelihood", count_log_likelihood(log_lam, n, correct, cell_noise, **form).sum())
    return model


def _whitened_run_shifts(run_noise, estimate, variance):
    """Run shifts off the trend, N(0, run_noise²) each, sampled whitened by what the data say of them.

    On the axes where the data measure the shifts independently (``measured_run_shifts``:
    estimates ŝ, variances se²; any orthonormal off-trend basis gives the same prior), a shift
    given run_noise is nearly N(m, v), v = 1/(1/run_noise² + 1/se²), m = v·ŝ/se². It is sampled as
    m + √v·z with z flat, and its exact prior and the Jacobian (½·log v) are a potential: the same
    posterior, but z stays near a standard normal at every run_noise. Non-centred shifts of runs
    without noise (the README's example, 6 runs × 80 problems, n = 100) diverged in run_noise's
    upper tail, where the data pin each shift tighter than run_noise allows (4 of 8 seeds, 1 each),
    and shifts partly centred at a typical run_noise in its lower tail (seed 7: 9 divergences).
    """
    z = pm.Flat("run_shift_free", shape=variance.shape[0])
    conditional = 1 / (1 / run_noise**2 + 1 / variance)
    shift = conditional * estimate / variance + pt.sqrt(conditional) * z
    prior = pm.logp(pm.Normal.dist(0.0, run_noise), shift).sum()
    pm.Potential("run_shift_prior", prior + 0.5 * pt.log(conditional).sum())
    return shift


def _partly_centred_normal(name: str, mean, spread, centring, start, dims: str):
    """A normal(mean, spread) sampled partly centred (Gorinova et al. 2020): its coordinate is
    N(c·mean, spread^c) and the value mean + spread^(1−c)·(coordinate − c·mean), so c = 1 is
    centred, c = 0 non-centred; ``start`` is where the coordinate starts."""
    coordinate = pm.Normal(name, mu=centring * mean, sigma=spread**centring, dims=dims, initval=start)
    return mean + spread ** (1 - centring) * (coordinate - centring * mean)
