"""The loss law with one bend (law="broken_loss"): it finds a bend that is there, keeps 0 where there is none, and LOO tells them apart."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import bayes_scaling as bs
from bayes_scaling.laws import broken_loss

# a ladder whose log-log slope doubles at 1e18, inside its range (1e16-1e20), with 0.5% run noise: a
# steepening, which a power law plus a constant (it only flattens) cannot follow
TRUTH = {"k1": 0.05, "k2": 0.10, "break": 1e18, "loss_at_break": 3.0, "sigma": 0.005}


def bending_ladder(seed: int = 0) -> pd.DataFrame:
    compute = np.geomspace(1e16, 1e20, 12)
    x = np.log(compute / TRUTH["break"])
    s = broken_loss.SMOOTHNESS
    log_mean = np.log(TRUTH["loss_at_break"]) - TRUTH["k1"] * x - (TRUTH["k2"] - TRUTH["k1"]) * s * (np.logaddexp(0, x / s) - np.log(2))
    noise = np.random.default_rng(seed).standard_normal(len(compute)) * TRUTH["sigma"]
    return pd.DataFrame({"compute": compute, "loss": np.exp(log_mean + noise)})


@pytest.fixture(scope="module")
def bent():
    runs = bending_ladder()
    return runs, bs.forecast(runs, target=[1e21], law="broken_loss", seed=0, progress=False), bs.forecast(runs, target=[1e21], seed=0, progress=False)


def test_the_bend_is_found_where_it_is(bent):
    _, fc, _ = bent
    assert fc.ok
    post = fc.idata.posterior
    for name, true in (("exponent_below", TRUTH["k1"]), ("exponent_above", TRUTH["k2"])):
        lower, upper = np.quantile(post[name].values, [0.05, 0.95])
        assert lower < true < upper, (name, lower, upper)
    bend = post["bend"].values
    assert np.quantile(bend, 0.05) > 0  # the slope steepens, surely
    at = np.exp(np.median(post["bend_at"].values)) * fc.settings["options"]["compute_ref"]
    assert 1e17 < at < 1e19  # the break within a decade of 1e18


def test_loo_prefers_the_bent_law_on_a_bending_ladder(bent):
    _, fc, plain = bent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k of a run or two: not what is tested
        table = bs.compare([plain, fc])
    assert table.index[0] == "broken_loss"
    assert table.loc["loss", "elpd_diff"] > 2 * table.loc["loss", "dse"]


def test_a_straight_ladder_keeps_no_bend():
    """A pure power law (straight on a log-log plot, 0.5% noise): the bend's interval holds 0."""
    compute = np.geomspace(1e16, 1e20, 12)
    noise = np.random.default_rng(1).standard_normal(12) * 0.005
    runs = pd.DataFrame({"compute": compute, "loss": 3.0 * (compute / 1e18) ** -0.07 * np.exp(noise)})
    fc = bs.forecast(runs, target=[1e21], law="broken_loss", seed=0, progress=False)
    assert fc.ok
    lower, upper = np.quantile(fc.idata.posterior["bend"].values, [0.05, 0.95])
    assert lower < 0 < upper


def test_the_drawn_break_agrees_with_the_sampled_slope(bent):
    """The slopes below and above, drawn after sampling, give back the slope at C_ref the sampler drew,
    and every drawn break lies in the fitted range."""
    runs, fc, _ = bent
    post, s = fc.idata.posterior, broken_loss.SMOOTHNESS
    at = post["bend_at"].values
    k_ref = post["exponent_below"].values * (1 + (np.exp(post["bend"].values) - 1) * expit(-at / s))
    np.testing.assert_allclose(k_ref, post["local_exponent"].values, rtol=1e-10)
    half = np.log(runs["compute"].max() / runs["compute"].min()) / 2
    assert (np.abs(at) <= half + 1e-12).all()
    # at C_ref the mean curve is loss_ref, whatever the bend
    mean = broken_loss.predict(post, None, fc.settings["options"], np.array([fc.settings["options"]["compute_ref"]]), np.random.default_rng(0))["mean_loss"]
    np.testing.assert_allclose(mean[..., 0], post["loss_ref"].values, rtol=1e-10)


def test_runs_can_be_planned_on_it(bent):
    """suggest_runs reads the bent law through its predictions: a run past the ladder narrows the
    forecast more than a run inside it, by both updates."""
    _, fc, _ = bent
    for method in ("linear", "reweight"):
        table = bs.suggest_runs(fc, budget=1e21, candidates=[1e18, 1e21], method=method).candidates.set_index("compute")
        assert table.loc[1e21, "shrinkage"] > table.loc[1e18, "shrinkage"], method


def test_too_few_computes_are_refused_by_name():
    runs = bending_ladder().iloc[:5]
    with pytest.raises(bs.DataError, match="needs runs at 6 or more distinct computes .* this table has 5: use law='loss'"):
        bs.forecast(runs, target=[1e21], law="broken_loss", seed=0, progress=False)
