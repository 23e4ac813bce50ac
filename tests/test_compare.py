"""bs.compare (PSIS-LOO) picks the law the data came from; bs.stack mixes forecasts by weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from tests.synthetic_ladders import isoflop_ladder

PARAMS, TOKENS = 1e10, 2e11
DEFAULTS = {"progress": False}  # default draws: a test fit must pass the health checks too


def fit_both(truth: str, seed: int) -> dict:
    runs = isoflop_ladder(truth, seed=seed)
    return {
        "loss": bs.forecast(runs, target=6 * PARAMS * TOKENS, law="loss", seed=seed, **DEFAULTS),
        "chinchilla": bs.forecast(
            runs, target=pd.DataFrame({"params": [PARAMS], "tokens": [TOKENS]}), law="chinchilla", seed=seed, **DEFAULTS
        ),
    }


@pytest.fixture(scope="module", params=["loss", "chinchilla"])
def fitted(request):
    return request.param, fit_both(request.param, seed=11)


def test_loo_picks_the_true_law(fitted):
    truth, fits = fitted
    table = bs.compare(fits)
    assert table.index[0] == truth, table
    # the other law is worse by more than twice the standard error of the difference
    other = table.iloc[1]
    assert other["elpd_diff"] > 2 * other["dse"], table
    assert table.loc[truth, "weight"] > 0.9


def test_log_likelihood_is_pointwise_per_run(fitted):
    _, fits = fitted
    for fc in fits.values():
        values = fc.idata.log_likelihood["log_loss_obs"]
        assert values.shape[-1] == len(fc.runs) == 18


def test_stack_mixes_draws_by_weight(fitted):
    _, fits = fitted
    stacked = bs.stack(fits, weights={"loss": 0.25, "chinchilla": 0.75}, seed=0)
    draws = stacked.draws()
    n = min(fc.draws().shape[0] for fc in fits.values())
    assert draws.shape == (n, 1)
    # the mixture's share of draws below the loss forecast's median sits between the two
    cut = float(np.median(fits["loss"].draws()))
    shares = {name: float((fc.draws() < cut).mean()) for name, fc in fits.items()}
    expected = 0.25 * shares["loss"] + 0.75 * shares["chinchilla"]
    assert stacked.prob_below(cut)[0] == pytest.approx(expected, abs=3 * np.sqrt(0.25 / n))
    assert list(stacked.to_frame().columns) == list(fits["loss"].to_frame().columns)
    default = bs.stack(fits)  # stacking weights from compare
    np.testing.assert_allclose(default.weights.sum(), 1.0)


def test_compare_and_stack_refuse_what_they_cannot_do(fitted, example_forecast):
    _, fits = fitted
    with pytest.raises(ValueError, match="fitted to different runs"):
        bs.compare([fits["loss"], example_forecast])
    with pytest.raises(ValueError, match="at least two"):
        bs.compare([fits["loss"]])
    with pytest.raises(ValueError, match="other targets"):
        bs.stack([fits["loss"], example_forecast], weights={"loss": 0.5, "loss_2": 0.5})
    with pytest.raises(ValueError, match="weights must be >= 0"):
        bs.stack(fits, weights={"loss": 1.0})


@pytest.mark.slow
@pytest.mark.parametrize("truth", ["loss", "chinchilla"])
def test_loo_picks_the_true_law_on_every_seed(truth):
    """Five seeds per law, default sampler settings: LOO ranks the true law first every time."""
    picked = []
    for seed in range(5):
        runs = isoflop_ladder(truth, seed=seed)
        fits = {
            "loss": bs.forecast(runs, target=6 * PARAMS * TOKENS, law="loss", seed=seed, progress=False),
            "chinchilla": bs.forecast(
                runs, target=pd.DataFrame({"params": [PARAMS], "tokens": [TOKENS]}), law="chinchilla", seed=seed, progress=False
            ),
        }
        table = bs.compare(fits)
        picked.append((table.index[0], round(float(table.iloc[1]["elpd_diff"]), 1), round(float(table.iloc[1]["dse"]), 1)))
    print(truth, picked)
    assert all(name == truth for name, _, _ in picked), picked


def test_log_likelihood_is_each_runs_normal_density(example_forecast):
    """The compiled sampler's pointwise log-likelihood is each run's log-normal density under each draw,
    computed here with scipy from the posterior (the same check against PyMC runs under slow)."""
    from scipy.stats import norm

    fc = example_forecast
    posterior = {name: fc.idata.posterior[name].to_numpy()[..., None] for name in ("loss_ref", "reducible_fraction", "b", "sigma")}
    x = np.log(fc.runs["compute"].to_numpy() / fc.settings["options"]["compute_ref"])
    mean = posterior["loss_ref"] * (posterior["reducible_fraction"] * np.exp(posterior["b"] * x) + 1 - posterior["reducible_fraction"])
    expected = norm.logpdf(np.log(fc.runs["loss"].to_numpy()), loc=np.log(mean), scale=posterior["sigma"])
    np.testing.assert_allclose(fc.idata.log_likelihood["log_loss_obs"].to_numpy(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.slow  # PyTensor compiles a C function for it: ~24 s from a cold cache
def test_log_likelihood_matches_pymc(example_forecast):
    """The compiled sampler's pointwise log-likelihood equals pm.compute_log_likelihood's (the plain
    loss law, as the shared default forecast of the example ladder fits it: with the extrapolation error
    the terms are closed-form LOO, tests/test_extrapolation.py)."""
    import pymc as pm

    from bayes_scaling.laws import extrapolation, loss

    plain = example_forecast
    assert plain.law == "loss" and extrapolation.SCALE not in plain.idata.posterior  # the plain law's own terms
    model = loss.build_model(loss.prepare(plain.runs, extrapolation_error=False), {})
    idata = plain.idata.sel(draw=slice(0, 50))
    reference = pm.compute_log_likelihood(idata.copy(), model=model, extend_inferencedata=False, progressbar=False)
    np.testing.assert_allclose(idata.log_likelihood["log_loss_obs"], reference["log_loss_obs"], rtol=1e-9)


def test_compare_and_stack_name_a_member_whose_diagnostics_failed(example, example_forecast):
    with pytest.warns(bs.SamplerWarning):
        weak = bs.forecast(example, target=example_forecast.targets, draws=30, tune=30, seed=0, progress=False)
    assert not weak.ok and example_forecast.ok
    with pytest.warns(bs.SamplerWarning, match="members whose sampler diagnostics failed: weak: "):
        bs.compare({"weak": weak, "default": example_forecast})
    with pytest.warns(bs.SamplerWarning, match="weak: .*not to be trusted"):
        bs.stack({"weak": weak, "default": example_forecast}, weights={"weak": 0.5, "default": 0.5})


def test_backtest_refuses_a_law_with_buckets_before_sampling():
    with pytest.raises(ValueError, match="forecasts a pass rate per bucket of problems"):
        bs.backtest(bs.example_pass_counts(), law="pass_rate")
