"""Repeated evaluations of one run: the table's checks, the split likelihood, and what a fit recovers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytest
from pymc_extras.prior import Prior
from scipy.stats import multivariate_normal

import bayes_scaling as bs
from bayes_scaling.laws import get_law
from bayes_scaling.quiet import quietly
from bayes_scaling.tables.evaluations import per_run
from tests.synthetic_ladders import evaluated_ladder, evaluated_truth as truth


@pytest.fixture(scope="module")
def fitted():
    return bs.forecast(evaluated_ladder(), target=[1e21], seed=0, progress=False)


def test_the_table_names_what_is_wrong_with_repeated_evaluations():
    table = evaluated_ladder(evaluations=2)
    with pytest.raises(bs.DataError, match="'evaluation' names evaluations of runs, so the table needs a 'run' column"):
        bs.load_runs(table.drop(columns=["run"]))
    twice = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    with pytest.raises(bs.DataError, match=r"column 'evaluation', row 32 \(run 'c0s1'\): evaluation 'shard1' of run 'c0s1' appears twice \(already in row 3\)"):
        bs.load_runs(twice)
    moved = table.copy()
    moved.loc[1, "compute"] = 2e17
    with pytest.raises(bs.DataError, match=r"column 'compute', row 1 \(run 'c0s0'\): 2e\+17 differs from 1e\+17 in row 0, an evaluation of the same run 'c0s0'"):
        bs.load_runs(moved)
    with pytest.raises(bs.DataError, match="duplicate run name 'c0s0'.*name each in an 'evaluation' column"):
        bs.load_runs(table.drop(columns=["evaluation"]))
    with pytest.raises(bs.DataError, match=r"column 'evaluation', row 5 \(run 'c1s0'\): value nan is missing; every row needs an evaluation name"):
        bs.load_runs(table.assign(evaluation=table["evaluation"].where(table.index != 5, None)))


def test_each_run_is_summarised_by_its_geometric_mean_count_and_spread():
    table = bs.load_runs(evaluated_ladder(evaluations=3))
    runs = per_run(table)
    assert len(runs) == 16 and list(runs["run"][:2]) == ["c0s0", "c0s1"]
    logs = np.log(table.loc[table["run"] == "c0s1", "loss"].to_numpy())
    row = runs.set_index("run").loc["c0s1"]
    assert row["loss"] == pytest.approx(np.exp(logs.mean()), rel=1e-12)
    assert row["evaluations"] == 3
    assert row["evaluation_sum_of_squares"] == pytest.approx(((logs - logs.mean()) ** 2).sum(), rel=1e-9)


def test_the_split_likelihood_is_the_joint_density_of_every_evaluation():
    """The model's run means and within-run potential together equal the multivariate normal of every
    evaluation (one run's evaluations share its run noise), up to a constant: checked as the difference
    between two parameter values."""
    law = get_law("loss")
    table = bs.load_runs(evaluated_ladder(computes=4, seeds=1, evaluations=3))
    prepared = law.prepare(table)
    model = law.build_model(prepared, {})
    terms = model.logp(vars=[model["log_loss_obs"], model["evaluation_spread"]])
    named = model.replace_rvs_by_values([model[name] for name in ("loss_ref", "reducible_fraction", "b", "sigma_run", "sigma_eval")])
    with quietly():  # PyTensor's C backend looks for a BLAS it does not need here
        evaluate = pytensor.function(model.value_vars, [terms, *named], on_unused_input="ignore", mode="FAST_COMPILE")
    x = np.log(table["compute"].to_numpy() / prepared.options["compute_ref"])
    y = np.log(table["loss"].to_numpy())
    same_run = (table["run"].to_numpy()[:, None] == table["run"].to_numpy()[None, :]).astype(float)
    rng = np.random.default_rng(1)
    differences = []
    for _ in range(2):
        point = [rng.normal(0.0, 0.3, size=var.type.shape if var.type.ndim else ()) for var in model.value_vars]
        split, loss_ref, fraction, b, sigma_run, sigma_eval = evaluate(*point)
        mean = np.log(loss_ref * (fraction * np.exp(b * x) + 1 - fraction))
        covariance = sigma_run**2 * same_run + sigma_eval**2 * np.eye(len(y))
        differences.append(split - multivariate_normal(mean, covariance).logpdf(y))
    assert differences[0] == pytest.approx(differences[1], abs=1e-8)


def test_a_fit_recovers_both_noises_and_a_new_run_carries_the_right_one(fitted):
    assert fitted.ok
    posterior = fitted.idata.posterior
    # what the data hold of each noise: the spread of the runs' means around the true curve, and of the
    # evaluations within each run (16 runs draw these well away from SIGMA_RUN and SIGMA_EVAL themselves)
    table = evaluated_ladder()
    logs = np.log(table["loss"].to_numpy())
    by_run = pd.Series(logs).groupby(table["run"].to_numpy())
    run_means = by_run.mean()
    compute = table.groupby("run")["compute"].first().loc[run_means.index]
    realised = {
        "run_mean": np.sqrt(np.mean((run_means - np.log(truth(compute))) ** 2)),
        "sigma_eval": np.sqrt(by_run.var(ddof=1).mean()),
    }
    noise_of_a_mean = np.sqrt(posterior["sigma_run"] ** 2 + posterior["sigma_eval"] ** 2 / 4).to_numpy()
    for name, draws in (("run_mean", noise_of_a_mean), ("sigma_eval", posterior["sigma_eval"].to_numpy())):
        lower, upper = np.quantile(draws, [0.05, 0.95])
        assert lower < realised[name] < upper, (name, realised[name], lower, upper)
    assert "sigma" not in posterior and fitted.quantities == ["loss", "run_loss"]
    # a new run evaluated once scatters around the curve by both noises; the run's own loss by its own
    noise = {q: np.log(fitted.draws(quantity=q)[:, 0] / fitted.draws("mean", quantity=q)[:, 0]) for q in ("loss", "run_loss")}
    both = np.hypot(posterior["sigma_run"], posterior["sigma_eval"]).to_numpy().reshape(-1)
    run = posterior["sigma_run"].to_numpy().reshape(-1)
    # the noise draws are independent given each posterior draw: the standardised ones have sd 1 to
    # within 3/sqrt(2·draws)
    assert np.std(noise["loss"] / both) == pytest.approx(1.0, abs=3 / np.sqrt(2 * len(both)))
    assert np.std(noise["run_loss"] / run) == pytest.approx(1.0, abs=3 / np.sqrt(2 * len(run)))
    # leave-one-out leaves out a whole run: one pointwise term per run, not per evaluation
    assert fitted.idata.log_likelihood["log_loss_obs"].shape[-1] == 16 and len(fitted.runs) == 16


def test_the_bent_law_splits_the_noise_too():
    """The broken power law on the same ladder: one row per run, both noises, a run's own loss, and
    closed-form leave-one-out terms per run."""
    fc = bs.forecast(evaluated_ladder(), target=[1e21], law="broken_loss", seed=0, progress=False)
    assert fc.ok and fc.quantities == ["loss", "run_loss"] and len(fc.runs) == 16
    assert {"sigma_run", "sigma_eval"} <= set(fc.idata.posterior) and "sigma" not in fc.idata.posterior
    assert fc.idata.log_likelihood["log_loss_obs"].shape[-1] == 16
    lower, upper = np.quantile(fc.idata.posterior["sigma_eval"].to_numpy(), [0.05, 0.95])
    table = evaluated_ladder()
    within = np.sqrt(pd.Series(np.log(table["loss"].to_numpy())).groupby(table["run"].to_numpy()).var(ddof=1).mean())
    assert lower < within < upper, (within, lower, upper)


def test_a_forecasts_runs_refit_to_the_same_posterior(fitted):
    """The fitted per-run table (what a verdict's self-backtest refits) is read back as runs with
    repeated evaluations, so the same seed gives the same draws."""
    again = bs.forecast(fitted.runs, target=[1e21], seed=0, progress=False)
    np.testing.assert_array_equal(again.draws(), fitted.draws())


def test_the_split_is_refused_where_a_law_or_an_option_cannot_follow_it():
    table = evaluated_ladder(evaluations=2)
    with_sizes = table.assign(params=lambda t: np.sqrt(t["compute"] / 120), tokens=lambda t: t["compute"] / (6 * np.sqrt(t["compute"] / 120)))
    with pytest.raises(bs.DataError, match="the 'chinchilla' law fits one evaluation per run"):
        bs.forecast(with_sizes, target=pd.DataFrame({"params": [1e9], "tokens": [2e10]}), law="chinchilla", seed=0)
    with pytest.raises(ValueError, match="extrapolation_error cannot be combined with repeated evaluations"):
        bs.forecast(table, target=1e21, extrapolation_error="auto", seed=0)
    with pytest.raises(ValueError, match="set priors on 'sigma_run'"):
        bs.forecast(table, target=1e21, prior={"sigma": Prior("HalfNormal", sigma=0.01)}, seed=0)
    with pytest.raises(ValueError, match=r"priors on \['sigma_eval'\] apply where runs were evaluated more than once"):
        bs.forecast(bs.example_runs(), target=1e21, prior={"sigma_eval": Prior("HalfNormal", sigma=0.01)}, seed=0)
    two = pd.concat([table.assign(family="a"), table.assign(family="b")], ignore_index=True)
    with pytest.raises(bs.DataError, match="the joint model of the recipes fits one evaluation per run"):
        bs.compare_recipes(two, target=1e21, seed=0)
